import type { QueryApi } from '@influxdata/influxdb-client';
import type { SessionSample } from './session-machine.js';
import { decodeIntervals } from './session-points.js';
import type { StoredSession } from './session-tracker.js';

const fluxTime = (timeMs: number) => `time(v: ${JSON.stringify(new Date(timeMs).toISOString())})`;

/** The InfluxDB reads the session tracker needs: recent vitals for a rebuild, provisional sessions. */
export function createInfluxSessionQueries(options: {
  queryApi: QueryApi;
  rawBucket: string;
  sessionsBucket: string;
  /** How far back provisional sessions are looked for. */
  provisionalWindowDays?: number;
  /**
   * The service's clock. Ranges end at it explicitly: left open, InfluxDB ends
   * them at its own clock, which misses data stamped by the simulator's.
   */
  now?: () => number;
}) {
  const { queryApi } = options;
  const provisionalWindowDays = options.provisionalWindowDays ?? 60;
  const now = options.now ?? Date.now;
  return {
    async recentSamples(chargerId: string, sinceMs: number): Promise<SessionSample[]> {
      const rows = await queryApi.collectRows<Record<string, unknown>>(
        `from(bucket: ${JSON.stringify(options.rawBucket)})
          |> range(start: ${fluxTime(sinceMs)}, stop: ${fluxTime(now() + 1)})
          |> filter(fn: (r) => r._measurement == "twc_vitals" and r.charger_id == ${JSON.stringify(chargerId)})
          |> filter(fn: (r) => r._field == "vehicle_connected" or r._field == "contactor_closed" or r._field == "session_energy_wh" or r._field == "session_s" or r._field == "uptime_s" or r._field == "power_w" or r._field == "handle_temp_c")
          |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
          |> group()
          |> sort(columns: ["_time"])`,
      );
      const number = (value: unknown) => (typeof value === 'number' ? value : null);
      return rows.map((row) => ({
        timeMs: Date.parse(String(row._time)),
        vehicleConnected: row.vehicle_connected === true,
        contactorClosed: row.contactor_closed === true,
        sessionEnergyWh: number(row.session_energy_wh),
        sessionS: number(row.session_s),
        uptimeS: number(row.uptime_s),
        powerW: number(row.power_w) ?? 0,
        handleTempC: number(row.handle_temp_c),
      }));
    },
    async provisionalSessions(): Promise<StoredSession[]> {
      const rows = await queryApi.collectRows<Record<string, unknown>>(
        `from(bucket: ${JSON.stringify(options.sessionsBucket)})
          |> range(start: ${fluxTime(now() - provisionalWindowDays * 86_400_000)}, stop: ${fluxTime(now() + 1)})
          |> filter(fn: (r) => r._measurement == "twc_session")
          |> filter(fn: (r) => r._field == "provisional" or r._field == "session_id" or r._field == "end_time" or r._field == "charging_s" or r._field == "energy_by_interval")
          |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
          |> filter(fn: (r) => r.provisional == true)
          |> group()`,
      );
      return rows.flatMap((row) => {
        try {
          return [
            {
              id: String(row.session_id),
              chargerId: String(row.charger_id),
              chargerName: String(row.charger_name),
              startTimeMs: Date.parse(String(row._time)),
              endTimeMs: Date.parse(String(row.end_time)),
              chargingS: Number(row.charging_s),
              energyByInterval: decodeIntervals(String(row.energy_by_interval)),
            },
          ];
        } catch {
          return [];
        }
      });
    },
  };
}

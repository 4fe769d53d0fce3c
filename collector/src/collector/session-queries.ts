import type { QueryApi } from '@influxdata/influxdb-client';
import type { SessionSample } from '@twc/core/sessions/session-machine';
import { decodeIntervals } from '@twc/core/sessions/session-points';
import type { StoredSession } from './stored-session-pricer.js';

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

  async function storedSessions(fromMs: number, toMs: number, condition: string): Promise<StoredSession[]> {
    const rows = await queryApi.collectRows<Record<string, unknown>>(
      `import "strings"
        from(bucket: ${JSON.stringify(options.sessionsBucket)})
          |> range(start: ${fluxTime(fromMs)}, stop: ${fluxTime(toMs)})
          |> filter(fn: (r) => r._measurement == "twc_session")
          |> filter(fn: (r) => r._field == "provisional" or r._field == "session_id" or r._field == "end_time" or r._field == "charging_s" or r._field == "energy_by_interval")
          |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
          |> filter(fn: (r) => exists r.energy_by_interval and exists r.end_time)
          |> filter(fn: (r) => ${condition})
          |> group()
          |> sort(columns: ["_time"])`,
    );
    return rows.flatMap((row) => {
      try {
        const decoded = decodeIntervals(String(row.energy_by_interval));
        return [
          {
            id: String(row.session_id),
            chargerId: String(row.charger_id),
            chargerName: String(row.charger_name),
            startTimeMs: Date.parse(String(row._time)),
            endTimeMs: Date.parse(String(row.end_time)),
            chargingS: Number(row.charging_s),
            energyByInterval: decoded.intervals,
            provisional: row.provisional === true,
            legacy: decoded.legacy,
          },
        ];
      } catch {
        return [];
      }
    });
  }

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
    /** Closed sessions of the last `provisionalWindowDays` whose cost is still provisional. */
    provisionalSessions(): Promise<StoredSession[]> {
      return storedSessions(now() - provisionalWindowDays * 86_400_000, now() + 1, 'r.provisional == true');
    },
    /**
     * Sessions that started in [fromMs, toMs); with `legacyOnly`, only those
     * stored before the price clock was corrected (their interval energy is in
     * the old form, session-points.ts, and their costs on the old clock).
     */
    sessionsBetween(fromMs: number, toMs: number, options: { legacyOnly?: boolean } = {}): Promise<StoredSession[]> {
      return storedSessions(
        fromMs,
        toMs,
        options.legacyOnly ? 'strings.hasPrefix(v: r.energy_by_interval, prefix: "[")' : 'true',
      );
    },
  };
}

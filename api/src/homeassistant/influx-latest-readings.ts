/**
 * The latest lifetime energy and Wi-Fi signal of each charger, read from
 * InfluxDB: the collector polls /lifetime and /wifi_status about once a
 * minute and writes them there (twc_lifetime, twc_wifi) but keeps neither
 * in Redis.
 */
import { InfluxDB } from '@influxdata/influxdb-client';
import type { ChargerReadings } from './discovery.js';

export interface LatestReadings {
  /** Readings by charger id; throws when InfluxDB cannot answer. */
  read(): Promise<Map<string, ChargerReadings>>;
}

/** How far back to look: a charger offline for longer has no current reading anyway. */
const LOOKBACK = '-30d';

export function latestReadingsQuery(bucket: string): string {
  return [
    `from(bucket: ${JSON.stringify(bucket)})`,
    `  |> range(start: ${LOOKBACK})`,
    '  |> filter(fn: (r) => (r._measurement == "twc_lifetime" and r._field == "energy_wh")',
    '      or (r._measurement == "twc_wifi" and r._field == "wifi_signal_strength"))',
    '  |> last()',
    '  |> keep(columns: ["_time", "_value", "_field", "charger_id"])',
  ].join('\n');
}

export function createInfluxLatestReadings(options: {
  url: string;
  token: string;
  org: string;
  bucket: string;
}): LatestReadings {
  const query = latestReadingsQuery(options.bucket);
  return {
    async read() {
      const queryApi = new InfluxDB({ url: options.url, token: options.token, timeout: 30_000 }).getQueryApi(
        options.org,
      );
      const rows = await queryApi.collectRows<{ _time: string; _value: number; _field: string; charger_id: string }>(
        query,
      );
      // A renamed charger has one series per name: the newest reading wins.
      const newest = new Map<string, { timeMs: number; value: number }>();
      for (const row of rows) {
        const key = `${row.charger_id}\u0000${row._field}`;
        const timeMs = Date.parse(row._time);
        const seen = newest.get(key);
        if (!seen || timeMs > seen.timeMs) newest.set(key, { timeMs, value: Number(row._value) });
      }
      const readings = new Map<string, ChargerReadings>();
      for (const [key, { value }] of newest) {
        const [chargerId = '', field] = key.split('\u0000');
        const entry = readings.get(chargerId) ?? { lifetimeEnergyWh: null, wifiSignalStrength: null };
        if (field === 'energy_wh') entry.lifetimeEnergyWh = value;
        else entry.wifiSignalStrength = value;
        readings.set(chargerId, entry);
      }
      return readings;
    },
  };
}

import { type NormalizedVitals, normalizeVitals, type PhaseMode } from '@twc/core/charger/normalize';
import type { PointData } from '@twc/core/contracts/influx-schema';
import type { ChargerStatus } from '@twc/core/contracts/redis';
import type { InfluxWriter } from '@twc/runtime/influx-writer';
import type { Logger } from '@twc/runtime/logger';
import { type ChargerHealth, INITIAL_HEALTH, recordVitalsPoll, vitalsDelayMs } from './charger-health.js';
import type { LiveState } from './redis-live-state.js';
import { type ChargerClient, ChargerRequestError } from './twc-client.js';

export type Endpoint = 'vitals' | 'lifetime' | 'version' | 'wifi';

export interface PollIntervals {
  vitalsMs: number;
  lifetimeMs: number;
  versionMs: number;
  wifiMs: number;
}

export interface VitalsSample {
  chargerId: string;
  chargerName: string;
  timeMs: number;
  vitals: NormalizedVitals;
}

export interface ChargerPollerOptions {
  name: string;
  client: ChargerClient;
  intervals: PollIntervals;
  maxBackoffMs: number;
  offlineAfterFailures: number;
  phaseMode: 'auto' | PhaseMode;
  writer: InfluxWriter;
  /** The bucket for raw data (vitals, lifetime, version, Wi-Fi, health). */
  bucket: string;
  live: LiveState;
  logger: Logger;
  /** The clock data is stamped with (the simulator's, in tests and demos). */
  now?: () => number;
  /** The clock polls are scheduled by: always real time, whatever `now` says. */
  clock?: () => number;
  random?: () => number;
  /** Called with every vitals sample once the charger's identity is known. */
  onVitals?: (sample: VitalsSample) => void;
}

export interface PollTiming {
  /** Vitals polls started. */
  vitalsPolls: number;
  /** How late the latest and the worst vitals poll started against its schedule. */
  lastLatenessMs: number;
  maxLatenessMs: number;
}

export interface ChargerPoller {
  start(): void;
  stop(): Promise<void>;
  chargerId(): string | undefined;
  health(): ChargerHealth;
  timing(): PollTiming;
}

/**
 * Polls one Wall Connector. A single loop per charger runs the endpoint
 * whose turn comes first, so there is never more than one request in flight
 * to the device (its small web server fails under concurrent requests).
 * The charger's identity is its serial number from /version: nothing is
 * written until it is known, and a new IP address for the same serial is the
 * same charger.
 */
export function createChargerPoller(options: ChargerPollerOptions): ChargerPoller {
  const { client, intervals, logger, writer, live } = options;
  const stamp = options.now ?? Date.now;
  const clock = options.clock ?? Date.now;
  const random = options.random ?? Math.random;
  const log = logger.child({ module: 'charger-poller', charger: options.name, host: client.host });

  let serial: string | undefined;
  let firmware: string | null = null;
  let partNumber: string | null = null;
  let health: ChargerHealth = INITIAL_HEALTH;
  const due: Record<Endpoint, number> = { version: 0, vitals: 0, lifetime: 0, wifi: 0 };
  const timing: PollTiming = { vitalsPolls: 0, lastLatenessMs: 0, maxLatenessMs: 0 };
  let stopped = true;
  let loopDone: Promise<void> = Promise.resolve();
  let wake: (() => void) | undefined;
  let sleepTimer: NodeJS.Timeout | undefined;

  const tags = () => ({ charger_id: serial as string, charger_name: options.name });

  function sleepUntil(timeMs: number): Promise<void> {
    const delay = timeMs - clock();
    if (delay <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      wake = resolve;
      sleepTimer = setTimeout(resolve, delay);
    });
  }

  function nextEndpoint(): Endpoint {
    // Until the serial is known only /version is asked: it names the charger.
    if (serial === undefined) return 'version';
    let best: Endpoint = 'vitals';
    for (const endpoint of ['version', 'lifetime', 'wifi'] as const) {
      if (due[endpoint] < due[best]) best = endpoint;
    }
    return best;
  }

  function errorText(error: unknown): string {
    if (error instanceof ChargerRequestError) return `${error.kind}: ${error.message}`;
    return error instanceof Error ? error.message : String(error);
  }

  function publishStatus(): void {
    if (serial === undefined) return;
    const status: ChargerStatus = {
      charger_id: serial,
      charger_name: options.name,
      host: client.host,
      serial_number: serial,
      firmware_version: firmware,
      part_number: partNumber,
      online: health.online === true,
      consecutive_failures: health.consecutiveFailures,
      last_error: health.lastError ?? null,
      last_seen: health.lastSuccessMs === undefined ? null : new Date(health.lastSuccessMs).toISOString(),
      updated: new Date(stamp()).toISOString(),
    };
    live.publishStatus(status);
  }

  /** Records a probe of the charger (vitals, or /version while its identity is unknown). */
  function recordProbe(outcome: { ok: true } | { ok: false; error: string }, pollMs: number): void {
    const result = recordVitalsPoll(health, outcome, stamp(), { offlineAfterFailures: options.offlineAfterFailures });
    health = result.health;
    if (result.transition === 'offline') {
      log.warn({ failures: health.consecutiveFailures, err: health.lastError }, 'charger offline');
    } else if (result.transition === 'online') {
      log.info({ serial }, 'charger online');
    }
    if (serial !== undefined) {
      const clientStats = client.stats();
      writer.write(options.bucket, 'vitals', [
        {
          measurement: 'twc_health',
          tags: tags(),
          fields: {
            online: health.online === true,
            consecutive_failures: health.consecutiveFailures,
            repairs_total: clientStats.repairs,
            failures_total: Object.values(clientStats.failures).reduce((sum, count) => sum + count, 0),
            last_error: health.lastError ?? '',
            poll_ms: pollMs,
          },
          timeMs: stamp(),
        },
      ]);
    }
    if (result.transition !== undefined || outcome.ok === false) publishStatus();
  }

  function scheduleProbeRetry(endpoint: Endpoint, interval: number): void {
    due[endpoint] = clock() + vitalsDelayMs(health.consecutiveFailures, interval, options.maxBackoffMs, random());
  }

  async function pollVersion(): Promise<void> {
    const started = clock();
    try {
      const { data } = await client.version();
      if (serial !== undefined && data.serial_number !== serial) {
        log.warn({ previous: serial, serial: data.serial_number }, 'a different charger answers at this address');
      }
      serial = data.serial_number;
      firmware = data.firmware_version ?? null;
      partNumber = data.part_number ?? null;
      writer.write(options.bucket, 'durable', [
        {
          measurement: 'twc_version',
          tags: tags(),
          fields: { firmware_version: firmware, part_number: partNumber, serial_number: serial },
          timeMs: stamp(),
        },
      ]);
      due.version = clock() + intervals.versionMs;
      if (health.online !== true) {
        // The version answer is the first sign of life; vitals follow at once.
        due.vitals = clock();
      }
      publishStatus();
    } catch (error) {
      if (serial === undefined) {
        recordProbe({ ok: false, error: errorText(error) }, clock() - started);
        scheduleProbeRetry('version', intervals.vitalsMs);
      } else {
        due.version = clock() + intervals.versionMs;
      }
    }
  }

  async function pollVitals(): Promise<void> {
    const started = clock();
    const lateness = Math.max(0, started - due.vitals);
    timing.vitalsPolls++;
    timing.lastLatenessMs = lateness;
    timing.maxLatenessMs = Math.max(timing.maxLatenessMs, lateness);
    try {
      const response = await client.vitals();
      const timeMs = stamp();
      const vitals = normalizeVitals(response.data, { phaseMode: options.phaseMode });
      const { phase_mode, charging, evse_state_name, current_alerts, evse_not_ready_reasons, ...fields } = vitals;
      writer.write(options.bucket, 'vitals', [{ measurement: 'twc_vitals', tags: tags(), fields, timeMs }]);
      recordProbe({ ok: true }, clock() - started);
      live.publishVitals({
        charger_id: serial as string,
        charger_name: options.name,
        time: new Date(timeMs).toISOString(),
        vitals,
      });
      options.onVitals?.({ chargerId: serial as string, chargerName: options.name, timeMs, vitals });
      // Keep the cadence on its grid; a poll that ran late does not push every later one back.
      const next = due.vitals + intervals.vitalsMs;
      due.vitals = next > clock() ? next : clock() + intervals.vitalsMs;
    } catch (error) {
      recordProbe({ ok: false, error: errorText(error) }, clock() - started);
      scheduleProbeRetry('vitals', intervals.vitalsMs);
    }
  }

  async function pollLifetime(): Promise<void> {
    try {
      const { data } = await client.lifetime();
      const fields: PointData['fields'] = {
        energy_wh: data.energy_wh,
        charge_starts: data.charge_starts,
        charging_time_s: data.charging_time_s,
        contactor_cycles: data.contactor_cycles,
        contactor_cycles_loaded: data.contactor_cycles_loaded,
        uptime_s: data.uptime_s,
        connector_cycles: data.connector_cycles,
        alert_count: data.alert_count,
        thermal_foldbacks: data.thermal_foldbacks,
        avg_startup_temp: data.avg_startup_temp,
      };
      writer.write(options.bucket, 'durable', [{ measurement: 'twc_lifetime', tags: tags(), fields, timeMs: stamp() }]);
    } catch (error) {
      log.debug({ err: errorText(error) }, 'lifetime poll failed');
    }
    due.lifetime = clock() + intervals.lifetimeMs;
  }

  async function pollWifi(): Promise<void> {
    try {
      const { data } = await client.wifiStatus();
      const fields: PointData['fields'] = {
        wifi_ssid: data.wifi_ssid,
        wifi_signal_strength: data.wifi_signal_strength,
        wifi_rssi: data.wifi_rssi,
        wifi_snr: data.wifi_snr,
        wifi_connected: data.wifi_connected,
        internet: data.internet,
        wifi_infra_ip: data.wifi_infra_ip,
      };
      writer.write(options.bucket, 'vitals', [{ measurement: 'twc_wifi', tags: tags(), fields, timeMs: stamp() }]);
    } catch (error) {
      log.debug({ err: errorText(error) }, 'wifi_status poll failed');
    }
    due.wifi = clock() + intervals.wifiMs;
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      const endpoint = nextEndpoint();
      await sleepUntil(due[endpoint]);
      if (stopped) break;
      // While the charger is failing, only vitals probe it; the slower endpoints wait for it to answer.
      if (endpoint !== 'vitals' && endpoint !== 'version' && health.consecutiveFailures > 0) {
        due[endpoint] = due.vitals + 1;
        continue;
      }
      try {
        if (endpoint === 'version') await pollVersion();
        else if (endpoint === 'vitals') await pollVitals();
        else if (endpoint === 'lifetime') await pollLifetime();
        else await pollWifi();
      } catch (error) {
        // A bug in handling one answer must not end the polling of this charger.
        log.error({ err: error, endpoint }, 'unexpected error while polling');
        due[endpoint] = clock() + intervals.vitalsMs;
      }
    }
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      const start = clock();
      due.version = start;
      due.vitals = start;
      due.lifetime = start;
      due.wifi = start;
      loopDone = loop();
    },
    async stop() {
      stopped = true;
      if (sleepTimer) clearTimeout(sleepTimer);
      wake?.();
      await loopDone;
    },
    chargerId: () => serial,
    health: () => health,
    timing: () => ({ ...timing }),
  };
}

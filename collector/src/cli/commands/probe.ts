/**
 * `twc probe <host[:port]>`: reads a Wall Connector's four endpoints once and
 * prints what it found, to check an address before adding it to the collector.
 */
import { parseArgs } from 'node:util';
import type { JsonRepair } from '@twc/core/charger/json-repair';
import { decodeSsid } from '@twc/core/charger/models';
import { normalizeVitals } from '@twc/core/charger/normalize';
import {
  ChargerRequestError,
  chargerOrigin,
  createChargerClient,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_RESPONSE_TIMEOUT_MS,
} from '../../collector/twc-client.js';
import { type Command, UsageError, usageError } from '../command.js';

const USAGE = 'twc probe <host[:port]> [--timeout-ms <ms>]';

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** What to tell a person whose charger could not be read, by failure kind. */
export function explainFailure(error: ChargerRequestError, host: string, timeoutMs: number): string {
  const at = `${host} (${error.endpoint})`;
  switch (error.kind) {
    case 'unreachable':
      return (
        `Could not talk to ${at}${error.code ? `: ${error.code}` : ''}. Check that the charger is powered and on ` +
        'Wi-Fi (it drops off for minutes at a time), that the address is right (its DHCP name looks like ' +
        'teslawallconnector_*), and that this machine is on the same LAN. In a power-sharing group only the ' +
        'leader answers.'
      );
    case 'timeout':
      return (
        `${at} did not answer within ${timeoutMs} ms${error.code ? ` (${error.code})` : ''}. The charger's web ` +
        'server is slow and falters when busy or on a weak Wi-Fi link: make sure nothing else is polling it, try ' +
        'again, or raise --timeout-ms.'
      );
    case 'http_status':
      return error.status === 404
        ? `${at} answered HTTP 404: a Wall Connector Gen 3 serves this path, so the address probably points at ` +
            'another device. Check the IP address or host name.'
        : `${at} answered HTTP ${error.status}. The charger may be starting up; try again in a minute.`;
    case 'invalid_json':
      return `${at} answered with a body that is not JSON even after repair: ${error.message}`;
    case 'invalid_payload':
      return (
        `${at} answered JSON that does not look like a Wall Connector Gen 3 payload (${error.message}). ` +
        'A firmware update may have changed the format.'
      );
    case 'not_a_wall_connector':
      return (
        `${host} answers HTTP, but /api/1/version did not return a Wall Connector serial number ` +
        `(${error.message}). Check that the address points at a Tesla Wall Connector Gen 3.`
      );
  }
}

async function probe(host: string, timeoutMs: number | undefined): Promise<number> {
  const client = createChargerClient({
    host,
    ...(timeoutMs === undefined ? {} : { connectTimeoutMs: timeoutMs, responseTimeoutMs: timeoutMs }),
  });
  try {
    // Sequential on purpose: the charger fails under concurrent requests.
    const version = await client.version();
    const vitals = await client.vitals();
    const lifetime = await client.lifetime();
    const wifi = await client.wifiStatus();
    const normalized = normalizeVitals(vitals.data);
    const repairs: Record<string, JsonRepair[]> = {
      version: version.repairs,
      vitals: vitals.repairs,
      lifetime: lifetime.repairs,
      wifi_status: wifi.repairs,
    };
    printJson({
      ok: true,
      host: client.host,
      serial_number: version.data.serial_number,
      part_number: version.data.part_number,
      firmware_version: version.data.firmware_version,
      phase_mode: normalized.phase_mode,
      power_w: normalized.power_w,
      charging: normalized.charging,
      state: { code: normalized.evse_state, name: normalized.evse_state_name },
      vehicle_connected: normalized.vehicle_connected,
      session_energy_wh: normalized.session_energy_wh,
      lifetime: {
        energy_wh: lifetime.data.energy_wh,
        charge_starts: lifetime.data.charge_starts,
        charging_time_s: lifetime.data.charging_time_s,
        contactor_cycles: lifetime.data.contactor_cycles ?? null,
        contactor_cycles_loaded: lifetime.data.contactor_cycles_loaded ?? null,
        connector_cycles: lifetime.data.connector_cycles ?? null,
        alert_count: lifetime.data.alert_count ?? null,
        thermal_foldbacks: lifetime.data.thermal_foldbacks ?? null,
        uptime_s: lifetime.data.uptime_s,
      },
      wifi: {
        ssid: wifi.data.wifi_ssid === undefined ? null : decodeSsid(wifi.data.wifi_ssid),
        signal_strength: wifi.data.wifi_signal_strength,
        rssi_dbm: wifi.data.wifi_rssi,
        snr_db: wifi.data.wifi_snr,
        connected: wifi.data.wifi_connected,
        ip: wifi.data.wifi_infra_ip ?? null,
      },
      repairs,
    });
    return 0;
  } catch (error) {
    if (!(error instanceof ChargerRequestError)) throw error;
    const waitedMs =
      timeoutMs ??
      (error.code === 'UND_ERR_CONNECT_TIMEOUT' ? DEFAULT_CONNECT_TIMEOUT_MS : DEFAULT_RESPONSE_TIMEOUT_MS);
    printJson({
      ok: false,
      host: client.host,
      endpoint: error.endpoint,
      reason: error.kind,
      ...(error.status === undefined ? {} : { status: error.status }),
      ...(error.code === undefined ? {} : { code: error.code }),
      message: explainFailure(error, client.host, waitedMs),
    });
    return 1;
  } finally {
    await client.close();
  }
}

export const probeCommand: Command = {
  summary: "Reads a Wall Connector's vitals, lifetime, version and Wi-Fi once and prints them as JSON.",
  usage: USAGE,
  async run(argv) {
    let parsed: ReturnType<typeof parseProbeArgs>;
    try {
      parsed = parseProbeArgs(argv);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      return usageError((text) => process.stderr.write(text), 'probe', USAGE, error);
    }
    return probe(parsed.host, parsed.timeoutMs);
  },
};

/** Throws UsageError naming what is wrong. */
function parseProbeArgs(argv: string[]): { host: string; timeoutMs: number | undefined } {
  let parsed: { values: { 'timeout-ms'?: string | undefined }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      options: { 'timeout-ms': { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    // parseArgs names the offending option in its message.
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError('expected exactly one charger address');
  const host = positionals[0] ?? '';
  try {
    chargerOrigin(host);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const raw = values['timeout-ms'];
  if (raw === undefined) return { host, timeoutMs: undefined };
  const timeoutMs = Number(raw);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new UsageError(`--timeout-ms must be a positive whole number of milliseconds, got "${raw}"`);
  }
  return { host, timeoutMs };
}

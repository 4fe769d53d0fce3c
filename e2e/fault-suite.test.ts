/**
 * The whole stack under faults: nothing lost, nothing double-counted, nothing
 * crashes. One accelerated day of charging on ten simulated chargers, with
 * every server and service killed (SIGKILL) and restarted, chargers and the
 * ComEd feed misbehaving, all at moments drawn from a seed; then what was
 * stored is checked against the simulator's own record, and the api is
 * fuzzed. See e2e/README.md for the rules each check holds the stack to.
 *
 *   E2E_SEED=<n>   the seed of the fault plan and the simulation (printed first)
 *   E2E_RUN_S=<s>  real seconds the simulated day lasts (default 240)
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TARIFF_DEFAULTS } from '@twc/core/prices/tariff';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeFault, type PlannedFault, planFaults, SERVICES, type ServiceName } from './faults.js';
import { createResourceRecorder, type ResourceRecorder, resourceTable } from './resources.js';
import { BUCKETS, eventually, REPO_ROOT, type Stack, startStack } from './stack.js';
import {
  CENT_TOLERANCE_USD,
  checkEnergy,
  counterLossBoundWh,
  matchSessions,
  parseInfluxCsv,
  priceEnergy,
  type SessionMatching,
  type StoredSession,
  sessionEnergyByInterval,
  type TruthSession,
  unexplainedGaps,
  type VitalsRow,
  type Window,
} from './verify.js';

const SEED = Number(process.env.E2E_SEED ?? 20_251_128);
const RUN_S = Number(process.env.E2E_RUN_S ?? 240);
const CHARGERS = 10;
const VITALS_POLL_S = 0.25;
const CHARGER_RESPONSE_TIMEOUT_MS = 1000;
const BACKOFF_MAX_S = 2;
/** The simulator's `day` scenario plans in Chicago standard time all year. */
const SIM_LOCAL_OFFSET_MS = -6 * 3_600_000;
/** The day ends at 09:00 local, after every car left for work (they leave 06:30-08:00). */
const DAY_END_LOCAL_HOUR = 9;
/**
 * The simulated time starts at 15:00 local: with the span below the run then holds two
 * evenings, two nights and two mornings (about twenty sessions), at about 630 times real
 * speed in the default four minutes.
 */
const DAY_START_LOCAL_HOUR = 15;
/** At least this much simulated time, so the run holds an evening, a night and a morning. */
const MIN_SIM_SPAN_MS = 20 * 3_600_000;
const HOUR_MS = 3_600_000;
/** A sample later than this much real time after the previous one, outside every known outage, is a lost sample. */
const GAP_TOLERANCE_REAL_MS = 2_000;
/** What a kill -9 may take with it: the collector's write batch, flushed every second. */
const KILLED_BATCH_REAL_MS = 1_500;
const FUZZ_MAX_EXAMPLES = Number(process.env.E2E_FUZZ_EXAMPLES ?? 20);

function log(line: string): void {
  process.stdout.write(`[e2e] ${line}\n`);
}

/**
 * The latest 15:00 (simulator local time) at or before `nowMs`: the simulation starts
 * there, so a seed replays the same sessions, not only the same faults.
 */
function dayStartBefore(nowMs: number): number {
  const localMs = nowMs + SIM_LOCAL_OFFSET_MS - DAY_START_LOCAL_HOUR * HOUR_MS;
  return Math.floor(localMs / (24 * HOUR_MS)) * 24 * HOUR_MS - SIM_LOCAL_OFFSET_MS + DAY_START_LOCAL_HOUR * HOUR_MS;
}

/** The first 09:00 (simulator local time) at least MIN_SIM_SPAN_MS after `simStartMs`. */
function dayEndAfter(simStartMs: number): number {
  const earliest = simStartMs + MIN_SIM_SPAN_MS;
  const localDayStart = Math.floor((earliest + SIM_LOCAL_OFFSET_MS) / (24 * HOUR_MS)) * 24 * HOUR_MS;
  let end = localDayStart - SIM_LOCAL_OFFSET_MS + DAY_END_LOCAL_HOUR * HOUR_MS;
  while (end < earliest) end += 24 * HOUR_MS;
  return end;
}

interface EventRecord {
  realMs: number;
  simMs: number;
  text: string;
}

interface ProcessOutage {
  service: ServiceName;
  killRealMs: number;
  readyRealMs: number;
}

interface ChargerFaultRecord {
  charger: number;
  realMs: number;
  fault: Extract<PlannedFault, { target: 'charger' }>['fault'];
}

interface RunResult {
  stack: Stack;
  endSimMs: number;
  speed: number;
  gapThresholdMs: number;
  events: EventRecord[];
  outages: ProcessOutage[];
  chargerFaults: ChargerFaultRecord[];
  truth: Map<string, { name: string; sessions: TruthSession[]; resetsMs: number[] }>;
  stored: StoredSession[];
  vitals: Map<string, VitalsRow[]>;
  prices: Map<number, number | null>;
  health: { collector: string | null; collectorChargersOnline: number; api: string | null; running: string[] };
  cleanStops: Record<string, boolean>;
}

async function flux(stack: Stack, query: string): Promise<Record<string, string>[]> {
  const response = await fetch(`${stack.influx.url}/api/v2/query?org=${encodeURIComponent(stack.influx.org)}`, {
    method: 'POST',
    headers: {
      authorization: `Token ${stack.influx.token}`,
      'content-type': 'application/json',
      accept: 'application/csv',
    },
    body: JSON.stringify({ query, dialect: { header: true, annotations: [], delimiter: ',' } }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`flux query failed (${response.status}): ${text}`);
  return parseInfluxCsv(text);
}

// Simulated time runs ahead of the wall clock: every range reaches far into the future.
const ALL_TIME = 'range(start: 1970-01-01T00:00:00Z, stop: 2200-01-01T00:00:00Z)';

async function readStoredSessions(stack: Stack): Promise<StoredSession[]> {
  const rows = await flux(
    stack,
    `from(bucket: "${BUCKETS.sessions}") |> ${ALL_TIME}
      |> filter(fn: (r) => r._measurement == "twc_session")
      |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")`,
  );
  const number = (value: string | undefined) => (value === undefined || value === '' ? Number.NaN : Number(value));
  return rows.map((row) => ({
    chargerId: row.charger_id ?? '',
    chargerName: row.charger_name ?? '',
    sessionId: row.session_id ?? '',
    startMs: Date.parse(row.start_time ?? row._time ?? ''),
    endMs: row.end_time ? Date.parse(row.end_time) : null,
    energyWh: number(row.energy_wh),
    supplyCostUsd: number(row.supply_cost),
    addersCostUsd: number(row.adders_cost),
    taxCostUsd: number(row.tax_cost),
    totalCostUsd: number(row.total_cost),
    provisional: row.provisional === 'true',
    endReason: row.end_reason || null,
    gaps: number(row.gaps),
    // Stored as {"start": [[stampMs, Wh], ...]}; keyed here by interval end, as verify.ts keys its own.
    energyByInterval: row.energy_by_interval
      ? (JSON.parse(row.energy_by_interval) as { start: [number, number][] }).start.map(
          ([startMs, wh]): [number, number] => [startMs + 300_000, wh],
        )
      : [],
  }));
}

async function readVitals(stack: Stack): Promise<Map<string, VitalsRow[]>> {
  const rows = await flux(
    stack,
    `from(bucket: "${BUCKETS.raw}") |> ${ALL_TIME}
      |> filter(fn: (r) => r._measurement == "twc_vitals" and
           (r._field == "session_energy_wh" or r._field == "vehicle_connected" or r._field == "power_w"))
      |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
      |> keep(columns: ["_time", "charger_id", "session_energy_wh", "vehicle_connected", "power_w"])`,
  );
  const byCharger = new Map<string, VitalsRow[]>();
  for (const row of rows) {
    const list = byCharger.get(row.charger_id ?? '') ?? [];
    list.push({
      timeMs: Date.parse(row._time ?? ''),
      sessionEnergyWh: row.session_energy_wh ? Number(row.session_energy_wh) : null,
      vehicleConnected: row.vehicle_connected === 'true',
      powerW: row.power_w ? Number(row.power_w) : 0,
    });
    byCharger.set(row.charger_id ?? '', list);
  }
  for (const list of byCharger.values()) list.sort((a, b) => a.timeMs - b.timeMs);
  return byCharger;
}

async function postJson(url: string, body: unknown): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${url} -> ${response.status}: ${text}`);
}

async function healthBody(url: string): Promise<{ status: number; body: string } | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return { status: response.status, body: await response.text() };
  } catch {
    return null;
  }
}

let run: RunResult | undefined;
let recorder: ResourceRecorder | undefined;
let dir = '';
const startedRealMs = Date.now();

function result(): RunResult {
  if (!run) throw new Error('the end-to-end run did not complete; see the output of beforeAll');
  return run;
}

describe('the whole stack under faults', () => {
  beforeAll(async () => {
    log(`seed ${SEED} (set E2E_SEED=${SEED} to replay this run), simulated day in ~${RUN_S} s real`);
    dir = mkdtempSync(join(tmpdir(), 'twc-e2e-'));
    log(`processes' data and logs in ${dir}`);

    const simStartMs = dayStartBefore(Date.now());
    const speed = Math.ceil((dayEndAfter(simStartMs) - simStartMs) / (RUN_S * 1000));
    // A sample every VITALS_POLL_S real seconds plus the request: a gap is a full real second without one.
    const sessionGapS = Math.ceil(speed * 1.0);
    const stack = await startStack({
      dir,
      seed: SEED,
      simStartMs,
      chargers: CHARGERS,
      speed,
      sessionGapS,
      chargerResponseTimeoutMs: CHARGER_RESPONSE_TIMEOUT_MS,
      backoffMaxS: BACKOFF_MAX_S,
      vitalsPollS: VITALS_POLL_S,
      pricePollS: 1,
      backfillDays: 1,
    });
    const endSimMs = dayEndAfter(stack.clock.simStartMs);
    const runRealMs = (endSimMs - stack.clock.simStartMs) / speed;
    const dayStartRealMs = stack.clock.realStartMs;
    const events: EventRecord[] = [];
    const note = (text: string) => {
      const realMs = Date.now();
      const simMs = stack.simTimeMs(realMs);
      events.push({ realMs, simMs, text });
      log(`+${((realMs - dayStartRealMs) / 1000).toFixed(1)}s real, ${new Date(simMs).toISOString()} sim: ${text}`);
    };
    log(
      `speed ${speed}x, simulated ${new Date(stack.clock.simStartMs).toISOString()} .. ${new Date(endSimMs).toISOString()}` +
        ` (${(runRealMs / 1000).toFixed(0)} s real), SESSION_GAP_S=${sessionGapS}, chargers ${stack.chargers.map((c) => c.name).join(' ')}`,
    );

    recorder = createResourceRecorder(
      (['collector', 'comed-poller', 'api'] as const).map((name) => stack.services[name]),
    );
    recorder.start(500);

    const plan = planFaults({
      seed: SEED,
      runMs: runRealMs,
      chargers: CHARGERS,
      chargerResponseTimeoutMs: CHARGER_RESPONSE_TIMEOUT_MS,
    });
    log(`fault plan (${plan.length} faults, real seconds from the start of the day):`);
    for (const fault of plan) log(`  ${(fault.atMs / 1000).toFixed(1)}s  ${describeFault(fault)}`);

    const outages: ProcessOutage[] = [];
    const chargerFaults: ChargerFaultRecord[] = [];
    const background: Promise<void>[] = [];
    const failures: string[] = [];
    for (const fault of plan) {
      const waitMs = dayStartRealMs + fault.atMs - Date.now();
      if (waitMs > 0) await sleep(waitMs);
      if (fault.target === 'process') {
        const service = stack.services[fault.service];
        recorder.sample();
        const killRealMs = Date.now();
        await service.kill();
        note(`killed ${fault.service} (SIGKILL)`);
        background.push(
          (async () => {
            await sleep(fault.downMs);
            try {
              await service.restart();
              outages.push({ service: fault.service, killRealMs, readyRealMs: Date.now() });
              note(`${fault.service} back and ready`);
            } catch (error) {
              failures.push(`${fault.service} did not come back: ${(error as Error).message}`);
            }
          })(),
        );
      } else if (fault.target === 'charger') {
        const charger = stack.chargers[fault.charger];
        try {
          await postJson(`http://${charger?.host}/sim/fault`, fault.fault);
          chargerFaults.push({ charger: fault.charger, realMs: Date.now(), fault: fault.fault });
          note(`${charger?.name}: ${JSON.stringify(fault.fault)}`);
        } catch (error) {
          failures.push(`could not inject ${describeFault(fault)}: ${(error as Error).message}`);
        }
      } else {
        const { fault: comed } = fault;
        const simNowMs = stack.simTimeMs();
        const faults =
          comed.kind === 'missing-intervals'
            ? {
                missingStampsMs: Array.from(
                  { length: comed.count },
                  (_, i) => (Math.floor(simNowMs / 300_000) + 1 + i) * 300_000,
                ),
              }
            : { response: comed.kind };
        await postJson(`${stack.comedControlUrl}/faults`, faults);
        note(`ComEd feed: ${JSON.stringify(faults)} for ${comed.durationMs} ms`);
        background.push(
          (async () => {
            await sleep(comed.durationMs);
            await postJson(`${stack.comedControlUrl}/faults/clear`, {});
            note('ComEd feed: faults cleared');
          })(),
        );
      }
    }
    await Promise.all(background);
    if (failures.length > 0) throw new Error(`fault injection failed:\n${failures.join('\n')}`);

    const untilEndMs = (endSimMs - stack.simTimeMs()) / speed;
    if (untilEndMs > 0) await sleep(untilEndMs);
    note('the simulated day is over; letting the last sessions close');

    const truth = new Map<string, { name: string; sessions: TruthSession[]; resetsMs: number[] }>();
    const readTruth = async () => {
      truth.clear();
      for (const charger of stack.chargers) {
        const body = (await (await fetch(`http://${charger.host}/sim/truth`)).json()) as {
          serial: string;
          name: string;
          sessions: TruthSession[];
          faults: { kind: string; atMs: number }[];
        };
        truth.set(body.serial, {
          name: body.name,
          sessions: body.sessions.filter((session) => session.plugInMs < endSimMs),
          resetsMs: body.faults
            .filter((f) => f.kind === 'reboot' || f.kind === 'session-energy-reset')
            .map((f) => f.atMs),
        });
      }
    };
    // Closed sessions with final prices for every car that came: the collector's recompute runs every 2 s.
    const settled = await eventually(async () => {
      await readTruth();
      const expected = [...truth.values()].reduce((sum, t) => sum + t.sessions.length, 0);
      const stored = (await readStoredSessions(stack)).filter((s) => s.startMs < endSimMs);
      return stored.length >= expected && stored.every((s) => !s.provisional);
    }, 20_000);
    note(settled ? 'every session stored and priced' : 'sessions did not settle within 20 s; checking what is there');

    const collectorHealth = await healthBody(stack.collectorHealthUrl);
    const apiReady = await healthBody(`${stack.apiUrl}/ready`);
    const collectorStatus = collectorHealth
      ? (JSON.parse(collectorHealth.body) as { chargers?: { online: boolean | null }[] })
      : undefined;
    const health = {
      collector: collectorHealth ? `${collectorHealth.status} ${collectorHealth.body.slice(0, 200)}` : null,
      collectorChargersOnline: collectorStatus?.chargers?.filter((c) => c.online === true).length ?? 0,
      api: apiReady ? `${apiReady.status} ${apiReady.body}` : null,
      running: SERVICES.filter((name) => stack.services[name].running()),
    };
    const healthOk = collectorHealth?.status === 200 && apiReady?.status === 200;
    note(`health: collector ${collectorHealth?.status ?? 'down'}, api /ready ${apiReady?.status ?? 'down'}`);
    if (!healthOk) log(`collector log tail:\n${stack.services.collector.tail(20)}`);

    // SIGTERM flushes the collector's and the poller's batches and spools to InfluxDB.
    recorder.sample();
    const cleanStops: Record<string, boolean> = {};
    for (const name of ['collector', 'comed-poller'] as const) {
      const { logFile } = stack.services[name];
      const before = readFileSync(logFile).length;
      await stack.services[name].stop();
      const after = readFileSync(logFile).subarray(before).toString('utf8');
      cleanStops[name] = after.includes(`"msg":"${name} stopped"`);
      note(`${name} stopped with SIGTERM${cleanStops[name] ? '' : ' (no clean shutdown in its log)'}`);
    }

    await readTruth();
    const stored = (await readStoredSessions(stack)).filter((s) => s.startMs < endSimMs);
    const vitals = await readVitals(stack);
    const firstStartMs = Math.min(...stored.map((s) => s.startMs), endSimMs) - 2 * HOUR_MS;
    const pricesBody = (await (
      await fetch(`${stack.comedControlUrl}/prices?from=${firstStartMs}&to=${endSimMs + 2 * HOUR_MS}`)
    ).json()) as [number, number | null][];
    run = {
      stack,
      endSimMs,
      speed,
      gapThresholdMs: sessionGapS * 1000,
      events,
      outages,
      chargerFaults,
      truth,
      stored,
      vitals,
      prices: new Map(pricesBody),
      health,
      cleanStops,
    };
    const sessionCount = [...truth.values()].reduce((sum, t) => sum + t.sessions.length, 0);
    log(`simulated ${sessionCount} sessions, stored ${stored.length}; checking`);
  }, 30 * 60_000);

  // A failed check keeps the processes' data and logs for a look afterwards.
  let failed = false;
  afterEach((context) => {
    if (context.task.result?.state === 'fail') failed = true;
  });

  afterAll(async () => {
    recorder?.stop();
    const wallS = (Date.now() - startedRealMs) / 1000;
    if (recorder) {
      const table = resourceTable(recorder.usage(), wallS);
      log(`resource use over ${wallS.toFixed(0)} s:\n${table}`);
      const outDir = join(REPO_ROOT, '.test-output');
      mkdirSync(outDir, { recursive: true });
      writeFileSync(
        join(outDir, 'e2e-resources.md'),
        `# End-to-end run: resource use\n\nSeed ${SEED}, ${CHARGERS} chargers, ${wallS.toFixed(0)} s wall clock` +
          `${run ? `, speed ${run.speed}x` : ''}. CPU is summed over restarts, peak RSS is the largest of any life.\n\n${table}\n`,
      );
    }
    await run?.stack.stop();
    if (dir && (failed || process.env.TWC_KEEP_TEST_DATA === '1')) log(`processes' data and logs kept in ${dir}`);
    else if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  function matching(): SessionMatching {
    const { truth, stored } = result();
    return matchSessions(new Map([...truth].map(([serial, t]) => [serial, t.sessions])), stored, 5 * 60_000);
  }

  it('simulated a day with sessions and injected every kind of fault', () => {
    const { truth, outages, chargerFaults } = result();
    const sessions = [...truth.values()].flatMap((t) => t.sessions);
    expect(sessions.length).toBeGreaterThan(CHARGERS / 2);
    expect(sessions.every((s) => s.unplugMs !== null)).toBe(true);
    expect(new Set(outages.map((o) => o.service))).toEqual(new Set(SERVICES));
    expect(new Set(chargerFaults.map((f) => f.fault.kind)).size).toBe(6);
  });

  it('stores every simulated session exactly once', () => {
    const m = matching();
    const describeTruth = (chargerId: string, t: TruthSession) =>
      `${chargerId} plug-in ${new Date(t.plugInMs).toISOString()} (${Math.round(t.energyWh)} Wh)`;
    expect(m.missing.map(({ chargerId, truth }) => describeTruth(chargerId, truth))).toEqual([]);
    expect(
      m.duplicated.map(
        ({ chargerId, truth, stored }) =>
          `${describeTruth(chargerId, truth)} stored ${stored.length}x: ${stored
            .map(
              (session) =>
                `${session.sessionId} from ${new Date(session.startMs).toISOString()} (${session.energyWh} Wh)`,
            )
            .join(', ')}`,
      ),
    ).toEqual([]);
    expect(
      m.unexpected.map((s) => `${s.sessionId} (${s.chargerName}, ${Math.round(s.energyWh)} Wh, ${s.endReason})`),
    ).toEqual([]);
  });

  it("stores each session's energy within 0.1% of the simulator's (less what the device's counter lost at a reset)", () => {
    const { truth, vitals } = result();
    const wrong: string[] = [];
    for (const { chargerId, truth: t, stored } of matching().matched) {
      const samples = (vitals.get(chargerId) ?? []).filter(
        (s) => s.timeMs >= stored.startMs && s.timeMs <= (stored.endMs ?? Number.POSITIVE_INFINITY),
      );
      const resets = (truth.get(chargerId)?.resetsMs ?? []).filter(
        (atMs) => atMs >= t.plugInMs && atMs <= (t.unplugMs ?? Number.POSITIVE_INFINITY),
      );
      const verdict = checkEnergy(t.energyWh, stored.energyWh, counterLossBoundWh(samples, resets));
      // A car plugged in before the collector's first sample of its charger: what
      // it drew before then is, by design, not the session's (unobservedCounterWh).
      const firstSampleMs = vitals.get(chargerId)?.[0]?.timeMs ?? Number.POSITIVE_INFINITY;
      if (t.plugInMs < firstSampleMs) {
        if (verdict.storedWh > verdict.truthWh * 1.001) wrong.push(`${stored.sessionId}: stored more than delivered`);
        continue;
      }
      if (!verdict.ok) {
        wrong.push(
          `${stored.sessionId}: stored ${verdict.storedWh.toFixed(1)} Wh, simulated ${verdict.truthWh.toFixed(1)} Wh ` +
            `(${(verdict.relativeError * 100).toFixed(3)}%, counter-loss bound ${verdict.lossBoundWh.toFixed(1)} Wh)`,
        );
      }
    }
    expect(wrong).toEqual([]);
  });

  it("costs each session to the cent, recomputed from its stored samples and the ComEd server's prices", () => {
    const { vitals, prices, gapThresholdMs, outages, stack } = result();
    const priceAt = (stampMs: number) => prices.get(stampMs) ?? undefined;
    // A kill -9 can take samples the session tracker had already counted: the
    // energy around it is then placed from fewer samples. Its price can move
    // by at most the spread of the hourly prices it could fall in.
    const killWindows = outages
      .filter((o) => o.service === 'collector')
      .map((o) => ({
        fromMs: stack.simTimeMs(o.killRealMs - KILLED_BATCH_REAL_MS),
        toMs: stack.simTimeMs(o.readyRealMs) + gapThresholdMs,
      }));
    const wrong: string[] = [];
    let compared = 0;
    for (const { chargerId, stored } of matching().matched) {
      if (stored.provisional) wrong.push(`${stored.sessionId}: cost still provisional at the end`);
      const endMs = stored.endMs ?? Number.POSITIVE_INFINITY;
      const samples = vitals.get(chargerId) ?? [];
      const byInterval = sessionEnergyByInterval(samples, stored.startMs, endMs, gapThresholdMs);
      const mine = priceEnergy(byInterval, priceAt, TARIFF_DEFAULTS);
      if (mine.unpricedHours.length > 0) wrong.push(`${stored.sessionId}: the ComEd server has no price for some hour`);
      let uncertainWh = 0;
      for (const window of killWindows) {
        if (window.toMs < stored.startMs || window.fromMs > endMs) continue;
        for (const [intervalEndMs, wh] of byInterval) {
          if (intervalEndMs > window.fromMs - gapThresholdMs && intervalEndMs - 300_000 < window.toMs + gapThresholdMs)
            uncertainWh += wh;
        }
      }
      const [low, high] = mine.priceRangeCents;
      const allowedUsd = CENT_TOLERANCE_USD + ((uncertainWh / 1000) * (high - low)) / 100;
      compared += 1;
      const diff = Math.abs(mine.totalUsd - stored.totalCostUsd);
      if (diff > allowedUsd) {
        const storedIntervals = new Map(stored.energyByInterval);
        const differing = [...new Set([...byInterval.keys(), ...storedIntervals.keys()])]
          .sort((a, b) => a - b)
          .filter((k) => Math.abs((byInterval.get(k) ?? 0) - (storedIntervals.get(k) ?? 0)) > 0.01)
          .slice(0, 6)
          .map(
            (k) =>
              `${new Date(k).toISOString()}: ${(byInterval.get(k) ?? 0).toFixed(1)} vs ${(storedIntervals.get(k) ?? 0).toFixed(1)} Wh`,
          );
        wrong.push(
          `${stored.sessionId}: stored $${stored.totalCostUsd.toFixed(4)}, recomputed $${mine.totalUsd.toFixed(4)} ` +
            `(allowed ±$${allowedUsd.toFixed(4)}; energy ${stored.energyWh.toFixed(1)} vs ${mine.energyWh.toFixed(1)} Wh;` +
            ` intervals differing: ${differing.join(', ') || 'none'})`,
        );
      }
    }
    expect(compared).toBeGreaterThan(0);
    expect(wrong).toEqual([]);
  });

  it('loses no vitals sample beyond the documented bounds', () => {
    const { stack, vitals, outages, chargerFaults, endSimMs, speed } = result();
    const toSim = (realMs: number) => stack.simTimeMs(realMs);
    const collectorDown: Window[] = outages
      .filter((o) => o.service === 'collector')
      .map((o) => ({
        fromMs: toSim(o.killRealMs - KILLED_BATCH_REAL_MS),
        toMs: toSim(o.readyRealMs + 1000),
        why: 'collector killed',
      }));
    const retryRealMs = CHARGER_RESPONSE_TIMEOUT_MS + BACKOFF_MAX_S * 1000 * 1.2 + 500;
    const chargerWindows = (index: number): Window[] =>
      chargerFaults
        .filter((f) => f.charger === index)
        .flatMap((f): Window[] => {
          switch (f.fault.kind) {
            case 'wifi-dropout':
              return [
                { fromMs: toSim(f.realMs), toMs: toSim(f.realMs + f.fault.durationMs + retryRealMs), why: 'Wi-Fi' },
              ];
            case 'slow-first-byte':
            case 'invalid-json-nan':
            case 'invalid-json-truncated':
              return [
                { fromMs: toSim(f.realMs), toMs: toSim(f.realMs + f.fault.count * retryRealMs), why: f.fault.kind },
              ];
            default:
              return [];
          }
        });
    const toleranceMs = GAP_TOLERANCE_REAL_MS * speed;
    const problems: string[] = [];
    stack.chargers.forEach((charger, index) => {
      const samples = vitals.get(charger.serial) ?? [];
      const times = samples.map((s) => s.timeMs).filter((t) => t <= endSimMs);
      if (times.length < 10) {
        problems.push(`${charger.name}: only ${times.length} samples stored`);
        return;
      }
      for (const gap of unexplainedGaps(times, [...collectorDown, ...chargerWindows(index)], toleranceMs)) {
        problems.push(
          `${charger.name}: no sample from ${new Date(gap.fromMs).toISOString()} to ${new Date(gap.toMs).toISOString()}` +
            ` (${((gap.toMs - gap.fromMs) / speed / 1000).toFixed(1)} s real, ${(gap.uncoveredMs / speed / 1000).toFixed(1)} s of it unexplained)`,
        );
      }
    });
    expect(problems).toEqual([]);
  });

  it('ends with every process healthy and the services shut down cleanly', () => {
    const { health, cleanStops } = result();
    expect(health.collector).toMatch(/^200 /);
    expect(health.collectorChargersOnline).toBe(CHARGERS);
    expect(health.api).toMatch(/^200 .*"ready"/);
    expect(health.running).toEqual([...SERVICES]);
    expect(cleanStops).toEqual({ collector: true, 'comed-poller': true });
  });

  it(
    'answers the API fuzzer (schemathesis) without a server error, every response matching its schema',
    async () => {
      const { stack } = result();
      const binary =
        process.env.TWC_SCHEMATHESIS ||
        execFileSync(join(REPO_ROOT, 'scripts', 'install-schemathesis.sh'), { encoding: 'utf8' }).trim();
      const outFile = join(dir, 'schemathesis.log');
      const args = [
        'run',
        `${stack.apiUrl}/api/v1/openapi.json`,
        '--url',
        stack.apiUrl,
        '--checks',
        'not_a_server_error,response_schema_conformance',
        '--max-examples',
        String(FUZZ_MAX_EXAMPLES),
        '--seed',
        String(SEED),
        '--workers',
        '1',
        '--no-color',
        '--generation-database',
        'none',
        '--request-timeout',
        '30',
      ];
      log(`fuzzing: ${binary} ${args.join(' ')}`);
      const out = openSync(outFile, 'w');
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn(binary, args, { stdio: ['ignore', out, out], cwd: dir });
        child.once('exit', (exitCode) => resolve(exitCode));
        child.once('error', () => resolve(null));
      });
      closeSync(out);
      const output = readFileSync(outFile, 'utf8');
      const summary = output.split('\n').slice(-40).join('\n');
      log(`schemathesis exited ${code}:\n${summary}`);
      expect(code, output.slice(-6000)).toBe(0);
      expect(stack.services.api.running()).toBe(true);
    },
    15 * 60_000,
  );
});

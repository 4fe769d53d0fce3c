/**
 * The local ComEd server as a process of its own, on the simulator's clock,
 * for the end-to-end suite. Prints one JSON line on stdout once listening:
 * `{"url": <the API base the comed-poller uses>, "control": <control base>}`.
 *
 * The control server (a separate port, so the poller never sees it):
 *   POST /faults         body: Partial<ComedServerFaults>, applied at once
 *   POST /faults/clear   answers normally again
 *   GET  /prices?from=&to=  [[stampMs, cents | null], ...] for every stamp in
 *                        [from, to): the server's own prices (priceAt)
 *
 * Usage: node --import tsx e2e/comed-server-main.ts --seed S --sim-start-ms A --real-start-ms B --acceleration X
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { type ComedServerFaults, createComedServer } from '@twc/collector/simulator/comed-server';
import { simulatedTimeMs } from '@twc/collector/simulator/sim-clock';
import { FIVE_MINUTES_MS } from '@twc/core/prices/comed-clock';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    'sim-start-ms': { type: 'string' },
    'real-start-ms': { type: 'string' },
    acceleration: { type: 'string', default: '1' },
  },
});
const clock = {
  simStartMs: Number(values['sim-start-ms'] ?? Date.now()),
  realStartMs: Number(values['real-start-ms'] ?? Date.now()),
  acceleration: Number(values.acceleration),
};
for (const [name, value] of Object.entries({ ...clock, seed: Number(values.seed) })) {
  if (!Number.isFinite(value)) {
    process.stderr.write(`comed-server: --${name} must be a number\n`);
    process.exit(2);
  }
}

const comed = createComedServer({ seed: Number(values.seed), now: () => simulatedTimeMs(clock, Date.now()) });
const { url } = await comed.start();

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

const control = createServer((request, response) => {
  const answer = (status: number, value: unknown) => {
    const body = JSON.stringify(value);
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  };
  const target = new URL(request.url ?? '/', 'http://control');
  if (request.method === 'POST' && target.pathname === '/faults') {
    readBody(request).then(
      (text) => {
        try {
          comed.setFaults(JSON.parse(text) as Partial<ComedServerFaults>);
          process.stderr.write(`comed-server: faults ${text}\n`);
          answer(200, { ok: true });
        } catch (error) {
          answer(400, { error: (error as Error).message });
        }
      },
      (error: unknown) => answer(400, { error: String(error) }),
    );
    return;
  }
  if (request.method === 'POST' && target.pathname === '/faults/clear') {
    comed.clearFaults();
    process.stderr.write('comed-server: faults cleared\n');
    answer(200, { ok: true });
    return;
  }
  if (request.method === 'GET' && target.pathname === '/prices') {
    const fromMs = Number(target.searchParams.get('from'));
    const toMs = Number(target.searchParams.get('to'));
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || toMs - fromMs > 400 * 24 * 3_600_000) {
      answer(400, { error: 'from and to must be epoch milliseconds, at most 400 days apart' });
      return;
    }
    const prices: [number, number | null][] = [];
    for (let stamp = Math.ceil(fromMs / FIVE_MINUTES_MS) * FIVE_MINUTES_MS; stamp < toMs; stamp += FIVE_MINUTES_MS) {
      prices.push([stamp, comed.priceAt(stamp) ?? null]);
    }
    answer(200, prices);
    return;
  }
  answer(404, { error: `no control path ${request.method} ${target.pathname}` });
});
await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', () => resolve()));
const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;
process.stdout.write(`${JSON.stringify({ url, control: controlUrl })}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    control.close();
    comed.stop().then(() => process.exit(0));
  });
}

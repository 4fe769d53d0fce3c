/**
 * The control server of the ComEd stand-in, on a port of its own so the
 * comed-poller never sees it. The end-to-end suite breaks the feed through
 * it and reads the prices the stand-in published, to price sessions without
 * the product's code:
 *
 *   POST /faults            body: Partial<ComedServerFaults>, applied at once
 *   POST /faults/clear      answers normally again
 *   GET  /prices?from=&to=  [[stampMs, cents | null], ...] for every 5-minute stamp in
 *                           [from, to) (epoch ms, at most 400 days): the stand-in's own priceAt
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FIVE_MINUTES_MS } from '@twc/core/prices/comed-clock';
import type { ComedServer, ComedServerFaults } from './comed-server.js';

const MAX_PRICES_SPAN_MS = 400 * 24 * 3_600_000;

export interface ComedControlOptions {
  comed: Pick<ComedServer, 'setFaults' | 'clearFaults' | 'priceAt'>;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** Told of every change of faults, e.g. to log it. */
  onChange?: (change: string) => void;
}

export interface ComedControl {
  /** Listens; `url` is the control base, e.g. http://127.0.0.1:40123. */
  start(): Promise<{ url: string }>;
  stop(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function answer(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

export function createComedControl(options: ComedControlOptions): ComedControl {
  const { comed } = options;
  const host = options.host ?? '127.0.0.1';
  let server: Server | undefined;

  function handle(request: IncomingMessage, response: ServerResponse): void {
    const target = new URL(request.url ?? '/', 'http://control');
    if (request.method === 'POST' && target.pathname === '/faults') {
      readBody(request).then(
        (text) => {
          try {
            comed.setFaults(JSON.parse(text) as Partial<ComedServerFaults>);
            options.onChange?.(`faults ${text}`);
            answer(response, 200, { ok: true });
          } catch (error) {
            answer(response, 400, { error: (error as Error).message });
          }
        },
        (error: unknown) => answer(response, 400, { error: String(error) }),
      );
      return;
    }
    if (request.method === 'POST' && target.pathname === '/faults/clear') {
      comed.clearFaults();
      options.onChange?.('faults cleared');
      answer(response, 200, { ok: true });
      return;
    }
    if (request.method === 'GET' && target.pathname === '/prices') {
      const fromMs = Number(target.searchParams.get('from'));
      const toMs = Number(target.searchParams.get('to'));
      if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || toMs - fromMs > MAX_PRICES_SPAN_MS) {
        answer(response, 400, { error: 'from and to must be epoch milliseconds, at most 400 days apart' });
        return;
      }
      const prices: [number, number | null][] = [];
      for (let stamp = Math.ceil(fromMs / FIVE_MINUTES_MS) * FIVE_MINUTES_MS; stamp < toMs; stamp += FIVE_MINUTES_MS) {
        prices.push([stamp, comed.priceAt(stamp) ?? null]);
      }
      answer(response, 200, prices);
      return;
    }
    answer(response, 404, { error: `no control path ${request.method} ${target.pathname}` });
  }

  return {
    async start() {
      const listening = createServer(handle);
      server = listening;
      await new Promise<void>((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(options.port ?? 0, host, () => {
          listening.off('error', reject);
          resolve();
        });
      });
      const { port } = listening.address() as AddressInfo;
      return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
    },

    async stop() {
      const stopping = server;
      server = undefined;
      if (!stopping) return;
      const closed = new Promise<void>((resolve) => stopping.close(() => resolve()));
      stopping.closeAllConnections();
      await closed;
    },
  };
}

/**
 * A real node:http server on port 0 that answers like a Wall Connector, with
 * per-path behaviour a test chooses (payloads, slow answers, errors, dropped
 * sockets). It counts connections and overlapping requests, since the real
 * device breaks under concurrent requests. Overlaps are counted on the wire:
 * node:http holds back a pipelined request until the previous response ends,
 * so request events alone would not show a client that pipelines.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { LIFETIME, VERSION, VITALS_SPLIT_PHASE_CHARGING, WIFI_BASE64 } from '@twc/core/charger/reference-payloads';

const REQUEST_LINE = /^[A-Z]+ \S+ HTTP\/1\.[01]\r$/gm;

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface WallConnectorServer {
  /** "127.0.0.1:<port>" */
  host: string;
  port: number;
  routes: Map<string, RouteHandler>;
  /** Paths requested, in arrival order. */
  requests: string[];
  connections: number;
  /** Times a request reached the socket while another request was still unanswered. */
  overlaps: number;
  close(): Promise<void>;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Answers `body` as is (it may be invalid JSON on purpose). */
export function send(
  body: string,
  options: { status?: number; contentType?: string; delayMs?: number } = {},
): RouteHandler {
  return async (_req, res) => {
    if (options.delayMs) await delay(options.delayMs);
    res.writeHead(options.status ?? 200, { 'content-type': options.contentType ?? 'application/json' });
    res.end(body);
  };
}

/** Sends the headers and the start of the body, then stalls for `stallMs` before finishing. */
export function stallBody(head: string, tail: string, stallMs: number): RouteHandler {
  return async (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(head);
    await delay(stallMs);
    if (!res.destroyed) res.end(tail);
  };
}

/** Drops the connection without answering. */
export const destroySocket: RouteHandler = (req) => {
  req.socket.destroy();
};

export function defaultRoutes(): Map<string, RouteHandler> {
  return new Map<string, RouteHandler>([
    ['/api/1/vitals', send(VITALS_SPLIT_PHASE_CHARGING)],
    ['/api/1/lifetime', send(LIFETIME)],
    ['/api/1/version', send(VERSION)],
    ['/api/1/wifi_status', send(WIFI_BASE64)],
  ]);
}

export async function startWallConnectorServer(
  routes: Map<string, RouteHandler> = defaultRoutes(),
): Promise<WallConnectorServer> {
  let sentToUs = 0;
  let answered = 0;
  const state = { requests: [] as string[], connections: 0, overlaps: 0 };
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    state.requests.push(path);
    let done = false;
    const markAnswered = () => {
      if (done) return;
      done = true;
      answered += 1;
    };
    res.on('finish', markAnswered);
    res.on('close', markAnswered);
    const handler = routes.get(path);
    if (!handler) {
      // The device answers 500 on other /api/1 paths.
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('error');
      return;
    }
    Promise.resolve(handler(req, res)).catch(() => res.destroy());
  });
  server.on('connection', (socket: Socket) => {
    state.connections += 1;
    socket.on('data', (chunk: Buffer) => {
      sentToUs += chunk.toString('latin1').match(REQUEST_LINE)?.length ?? 0;
      if (sentToUs - answered > 1) state.overlaps += 1;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    port,
    routes,
    get requests() {
      return state.requests;
    },
    get connections() {
      return state.connections;
    },
    get overlaps() {
      return state.overlaps;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An address where nothing listens: a port that was just free. */
export async function closedPortHost(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

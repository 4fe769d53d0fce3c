import type { AddressInfo } from 'node:net';
import { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createTestStack, type TestStack } from './seed.js';

let stack: TestStack;
let app: FastifyInstance;
let port: number;

beforeAll(async () => {
  stack = await createTestStack('api-http-limits');
  app = await buildApp({ config: stack.config({ API_REQUEST_TIMEOUT_S: '1', API_IDLE_TIMEOUT_S: '2' }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await app?.close();
  await stack.close();
});

/** Opens a connection and runs `feed` on it; resolves with what the server sent and when it closed. */
function connection(feed: (socket: Socket) => void): Promise<{ closedAfterMs: number; received: string }> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const started = Date.now();
    let received = '';
    socket.on('data', (data) => {
      received += data.toString();
    });
    socket.on('error', () => {});
    // Without server timeouts the connection stays open for good: give up (and fail) after 8 s.
    const guard = setTimeout(() => socket.destroy(), 8000);
    socket.on('close', () => {
      clearTimeout(guard);
      resolve({ closedAfterMs: Date.now() - started, received });
    });
    socket.connect(port, '127.0.0.1', () => feed(socket));
  });
}

describe('slow clients', () => {
  it('a body trickled a byte at a time is cut off after API_REQUEST_TIMEOUT_S', async () => {
    let timer: NodeJS.Timeout | undefined;
    const result = await connection((socket) => {
      socket.write('GET /api/v1/chargers HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n');
      timer = setInterval(() => socket.write('x'), 200);
    });
    clearInterval(timer);
    // A GET is answered without its body; the connection then waits for the rest of the request.
    expect(result.received).toMatch(/^HTTP\/1\.1 (200|408)/);
    // 1 s, checked every 250 ms; well before the 100 s the attack held connections.
    expect(result.closedAfterMs).toBeLessThan(5000);
  });

  it('headers never finished are cut off too', async () => {
    let timer: NodeJS.Timeout | undefined;
    const result = await connection((socket) => {
      socket.write('GET /api/v1/chargers HTTP/1.1\r\n');
      timer = setInterval(() => socket.write('X-Slow: y\r\n'), 200);
    });
    clearInterval(timer);
    expect(result.received).toMatch(/^HTTP\/1\.1 408/);
    expect(result.closedAfterMs).toBeLessThan(5000);
  });

  it('an idle connection is closed after API_IDLE_TIMEOUT_S', async () => {
    const result = await connection(() => {});
    expect(result.closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(result.closedAfterMs).toBeLessThan(6000);
  });

  it('a normal request is still answered', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/health`);
    expect(response.status).toBe(200);
    await response.arrayBuffer();
  });
});

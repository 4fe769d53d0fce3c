/**
 * Delay from a vitals publish in Redis to WebSocket clients of the API
 * receiving it. The collector's own adapter publishes; each sample's `time`
 * is unique and keys the moment it was published, so every client's message
 * is matched to its publish without any field the collector would not send.
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LiveState } from '@twc/collector/collector/redis-live-state';
import type { LiveVitals } from '@twc/core/contracts/redis';
import type WebSocketClass from 'ws';
import { type Distribution, distribution } from './poll-lateness.js';

// ws is the api's (dev) dependency: Node 20 has no WebSocket client without a flag.
const { WebSocket } = createRequire(new URL('../api/package.json', import.meta.url))('ws') as {
  WebSocket: typeof WebSocketClass;
};

export interface LiveDelayResult {
  clients: number;
  published: number;
  /** Vitals messages every client received, summed. */
  received: number;
  /** clients × published. */
  expected: number;
  delayMs: Distribution;
  publishedPerS: number;
}

function connect(url: string, timeoutMs: number): Promise<WebSocketClass> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`no "subscribed" from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    // The hub greets every client with {"type": "subscribed"} once it is registered for updates.
    socket.once('message', (raw) => {
      clearTimeout(timer);
      const message = JSON.parse(String(raw)) as { type?: string };
      if (message.type === 'subscribed') resolve(socket);
      else reject(new Error(`expected "subscribed" first, got ${String(raw).slice(0, 200)}`));
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

export async function measureLiveDelay(options: {
  /** ws://host:port/ws/live */
  url: string;
  clients: number;
  live: LiveState;
  /** A sample to publish, its `time` replaced on each publish. */
  sample: LiveVitals;
  ratePerS: number;
  durationMs: number;
}): Promise<LiveDelayResult> {
  const sentAtMs = new Map<string, number>();
  const delays: number[] = [];
  let received = 0;
  const sockets: WebSocketClass[] = [];
  try {
    for (let i = 0; i < options.clients; i++) sockets.push(await connect(options.url, 10_000));
    for (const socket of sockets) {
      socket.on('message', (raw) => {
        const atMs = performance.now();
        const message = JSON.parse(String(raw)) as { type?: string; data?: { time?: string } };
        if (message.type !== 'vitals' || message.data?.time === undefined) return;
        const sentMs = sentAtMs.get(message.data.time);
        if (sentMs === undefined) return;
        received++;
        delays.push(atMs - sentMs);
      });
    }

    const intervalMs = 1000 / options.ratePerS;
    const total = Math.floor((options.ratePerS * options.durationMs) / 1000);
    const startMs = performance.now();
    for (let i = 0; i < total; i++) {
      const waitMs = startMs + i * intervalMs - performance.now();
      if (waitMs > 0) await sleep(waitMs);
      // Publishes are at least 50 ms apart at 20/s, so the millisecond ISO time is unique per publish.
      let time = new Date().toISOString();
      while (sentAtMs.has(time)) time = new Date(Date.parse(time) + 1).toISOString();
      sentAtMs.set(time, performance.now());
      options.live.publishVitals({ ...options.sample, time });
    }
    const publishedS = (performance.now() - startMs) / 1000;
    // Messages still on their way when the last publish left.
    await sleep(1_000);
    return {
      clients: sockets.length,
      published: total,
      received,
      expected: total * sockets.length,
      delayMs: distribution(delays),
      publishedPerS: total / publishedS,
    };
  } finally {
    for (const socket of sockets) socket.terminate();
  }
}

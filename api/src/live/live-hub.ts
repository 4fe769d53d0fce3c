/**
 * WebSocket fan-out of live updates. Every API replica subscribes to the
 * collector's and poller's Redis channels (psubscribe), so a client connected
 * to any replica sees every update. A slow client never delays the others:
 * messages to a client whose socket buffer is over the bound are dropped, and
 * a client still over it at the next heartbeat, or not answering pings, is
 * cut off.
 */
import {
  type ControlEvent,
  type CurrentPrice,
  controlEventSchema,
  currentPriceSchema,
  type LiveSession,
  type LiveVitals,
  liveKeys,
  liveSessionSchema,
  liveVitalsSchema,
  type PlanState,
  type PriceForecast,
  parseRedisPayload,
  planKeys,
  planStateSchema,
  priceForecastSchema,
  priceKeys,
  sessionKeys,
} from '@twc/core/contracts/redis';
import { forecastAhead } from '@twc/core/prices/forecast-snapshot';
import type { Logger } from '@twc/runtime/logger';
import { createRedisClient } from '@twc/runtime/redis-connection';
import type { Redis } from 'ioredis';
import type { WebSocket } from 'ws';

export type LiveMessageType = 'vitals' | 'session' | 'price' | 'forecast' | 'plan' | 'control_event';

/** `all`, or one charger id. */
export type Subscription = string;

export interface LiveHubStats {
  clients: number;
  delivered: number;
  dropped: number;
  terminated: number;
}

/**
 * The latest vitals and session the hub heard for a charger (the JSON the
 * collector published). `session` is undefined while unknown, null when
 * Redis held none.
 */
export interface LatestLive {
  vitals?: LiveVitals;
  session?: LiveSession | null;
}

export interface LiveHub {
  start(): Promise<void>;
  stop(): Promise<void>;
  add(socket: WebSocket, subscription: Subscription): void;
  /**
   * What the hub last heard for a charger since its subscription (re)started,
   * so a status request needs no Redis read; undefined when it has heard
   * nothing (or the subscription is down), and the caller reads Redis.
   */
  latest(chargerId: string): LatestLive | undefined;
  /** Fills a session the hub has not heard yet with what Redis holds (null for none); a newer message wins. */
  rememberSession(chargerId: string, session: LiveSession | null): void;
  stats(): LiveHubStats;
}

/** The collector keeps a charger's latest vitals in Redis this long; the hub forgets them as soon. */
const LATEST_MAX_AGE_MS = 3600_000;

/** Which update a channel carries; undefined for a channel that is not ours. */
export function classifyChannel(
  prefix: string,
  channel: string,
): { type: LiveMessageType; chargerId: string | null } | undefined {
  if (channel === priceKeys.channel(prefix)) return { type: 'price', chargerId: null };
  if (channel === priceKeys.forecastChannel(prefix)) return { type: 'forecast', chargerId: null };
  // A control event names its charger in the payload.
  if (channel === planKeys.eventChannel(prefix)) return { type: 'control_event', chargerId: null };
  const heads = {
    vitals: liveKeys.vitalsChannel(prefix, ''),
    session: sessionKeys.channel(prefix, ''),
    plan: planKeys.stateChannel(prefix, ''),
  } as const;
  for (const type of ['vitals', 'session', 'plan'] as const) {
    const head = heads[type];
    if (channel.startsWith(head) && channel.length > head.length)
      return { type, chargerId: channel.slice(head.length) };
  }
  return undefined;
}

/** Whether a client with this subscription wants an update; prices concern every charger. */
export function wants(subscription: Subscription, chargerId: string | null): boolean {
  return chargerId === null || subscription === 'all' || subscription === chargerId;
}

/** Redis glob patterns treat * ? [ ] \ specially: a key prefix holding one must match literally. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (char) => `\\${char}`);
}

/** A client's `{"subscribe": "<charger id>" | "all"}`; undefined for anything else. */
export function parseSubscribe(text: string): Subscription | undefined {
  try {
    const message = JSON.parse(text) as unknown;
    if (typeof message !== 'object' || message === null) return undefined;
    const value = (message as { subscribe?: unknown }).subscribe;
    return typeof value === 'string' && value.length > 0 && value.length <= 64 ? value : undefined;
  } catch {
    return undefined;
  }
}

interface Client {
  socket: WebSocket;
  subscription: Subscription;
  alive: boolean;
  droppedSinceHeartbeat: number;
}

export function createLiveHub(options: {
  redisUrl: string;
  keyPrefix: string;
  logger: Logger;
  heartbeatMs: number;
  maxBufferedBytes: number;
}): LiveHub {
  const { keyPrefix: prefix, logger } = options;
  const clients = new Set<Client>();
  const counters = { delivered: 0, dropped: 0, terminated: 0 };
  let subscriber: Redis | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let malformedLogged = false;
  // Every vitals and session publish goes through here; the collector always
  // writes the key and publishes in one transaction, so the last message heard
  // is what Redis holds. Cleared when the subscription drops: anything missed
  // then is read from Redis until the next message arrives.
  const latest = new Map<string, LatestLive & { heardMs: number }>();

  function terminate(client: Client, reason: string): void {
    counters.terminated++;
    clients.delete(client);
    logger.info({ reason, subscription: client.subscription }, 'live client cut off');
    client.socket.terminate();
  }

  function send(client: Client, text: string): void {
    if (client.socket.readyState !== client.socket.OPEN) return;
    if (client.socket.bufferedAmount > options.maxBufferedBytes) {
      counters.dropped++;
      client.droppedSinceHeartbeat++;
      return;
    }
    counters.delivered++;
    client.socket.send(text);
  }

  function onMessage(channel: string, message: string): void {
    const kind = classifyChannel(prefix, channel);
    if (!kind) return;
    // Parsed with the writer's schema: a client only ever receives what the contract says.
    let data:
      | LatestLive['vitals']
      | LatestLive['session']
      | CurrentPrice
      | PriceForecast
      | PlanState
      | ControlEvent
      | undefined;
    const heard: LatestLive = {};
    let chargerId = kind.chargerId;
    if (kind.type === 'vitals') data = heard.vitals = parseRedisPayload(liveVitalsSchema, message);
    else if (kind.type === 'plan') data = parseRedisPayload(planStateSchema, message);
    else if (kind.type === 'control_event') {
      const event = parseRedisPayload(controlEventSchema, message);
      data = event;
      chargerId = event?.charger_id ?? null;
    } else if (kind.type === 'session') data = heard.session = parseRedisPayload(liveSessionSchema, message);
    else if (kind.type === 'forecast') {
      // The next 24 hours: what a live view shows; the whole 48 are at GET /price/forecast.
      const forecast = parseRedisPayload(priceForecastSchema, message);
      data = forecast && forecastAhead(forecast, Date.now(), 24);
    } else data = parseRedisPayload(currentPriceSchema, message);
    if (data === undefined) {
      if (!malformedLogged) {
        logger.warn({ channel }, 'a live message is not what its writer sends; skipped (logged once)');
      }
      malformedLogged = true;
      return;
    }
    if (chargerId !== null && (kind.type === 'vitals' || kind.type === 'session')) {
      const entry = latest.get(chargerId) ?? { heardMs: 0 };
      latest.set(chargerId, { ...entry, ...heard, heardMs: Date.now() });
    }
    const text = JSON.stringify({ type: kind.type, charger_id: chargerId, data });
    for (const client of clients) {
      if (wants(client.subscription, chargerId)) send(client, text);
    }
  }

  function beat(): void {
    for (const client of clients) {
      if (!client.alive) {
        terminate(client, 'no pong since the last ping');
        continue;
      }
      if (client.droppedSinceHeartbeat > 0 && client.socket.bufferedAmount > options.maxBufferedBytes) {
        terminate(client, 'too slow: its buffer stayed full for a heartbeat');
        continue;
      }
      client.alive = false;
      client.droppedSinceHeartbeat = 0;
      client.socket.ping();
    }
  }

  return {
    async start() {
      if (subscriber) return;
      // Reconnects forever and re-subscribes by itself after a Redis restart.
      const redis = createRedisClient(options.redisUrl, { subscriber: true });
      subscriber = redis;
      let down = false;
      redis.on('error', (error) => {
        if (!down) logger.warn({ err: error.message }, 'Redis unavailable; live updates paused');
        down = true;
      });
      redis.on('close', () => latest.clear());
      redis.on('ready', () => {
        if (down) logger.info('Redis reachable again; live updates resume');
        down = false;
      });
      redis.on('pmessage', (_pattern: string, channel: string, message: string) => onMessage(channel, message));
      const escaped = globEscape(prefix);
      const subscribed = redis.psubscribe(
        `${escaped}vitals:*`,
        `${escaped}session:*`,
        `${escaped}price`,
        `${escaped}price-forecast`,
        `${escaped}plan:*`,
        `${escaped}control-event`,
      );
      heartbeat = setInterval(beat, options.heartbeatMs);
      heartbeat.unref();
      // Serving starts even when Redis is down; the subscription follows when it is back.
      await Promise.race([subscribed.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000))]);
    },
    async stop() {
      if (heartbeat) clearInterval(heartbeat);
      for (const client of clients) client.socket.close(1001, 'server shutting down');
      clients.clear();
      const redis = subscriber;
      subscriber = undefined;
      // quit() would wait for a connection that may never come while Redis is down.
      if (redis?.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis?.disconnect();
    },
    add(socket, subscription) {
      const client: Client = { socket, subscription, alive: true, droppedSinceHeartbeat: 0 };
      clients.add(client);
      socket.on('pong', () => {
        client.alive = true;
      });
      socket.on('message', (raw) => {
        const wanted = parseSubscribe(String(raw));
        if (wanted === undefined) {
          send(client, JSON.stringify({ type: 'error', message: 'expected {"subscribe": "<charger id>" | "all"}' }));
          return;
        }
        client.subscription = wanted;
        send(client, JSON.stringify({ type: 'subscribed', subscription: wanted }));
      });
      socket.on('close', () => clients.delete(client));
      socket.on('error', () => clients.delete(client));
      send(client, JSON.stringify({ type: 'subscribed', subscription }));
    },
    latest(chargerId) {
      if (subscriber?.status !== 'ready') return undefined;
      const entry = latest.get(chargerId);
      if (!entry || Date.now() - entry.heardMs > LATEST_MAX_AGE_MS) return undefined;
      return entry;
    },
    rememberSession(chargerId, session) {
      const entry = latest.get(chargerId);
      if (subscriber?.status === 'ready' && entry && entry.session === undefined) entry.session = session;
    },
    stats() {
      return { clients: clients.size, ...counters };
    },
  };
}

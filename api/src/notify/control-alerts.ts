/**
 * Smart charging's failures on the alert channels: a command the planner
 * sent a car that failed (the planner's `control-event` channel). One alert
 * per charger per half hour at most, claimed in Redis so that several API
 * replicas send it once; the planner retries with a backoff meanwhile and,
 * after several failures in a row, lets the car charge.
 */
import { type ControlEvent, controlEventSchema, parseRedisPayload, planKeys } from '@twc/core/contracts/redis';
import type { Logger } from '@twc/runtime/logger';
import { createRedisClient } from '@twc/runtime/redis-connection';
import type { Redis } from 'ioredis';
import type { Notification, Notifier } from './notifiers.js';

/** At most one alert per charger in this long. */
export const CONTROL_ALERT_EVERY_S = 30 * 60;

const STEERING = new Set(['charge_start', 'charge_stop', 'set_charging_amps']);

/** The alert for a failed command; undefined for an event that is none (a success, a read of the car's state). */
export function controlAlert(event: ControlEvent, chargerName: string): Notification | undefined {
  if (event.ok || !STEERING.has(event.command)) return undefined;
  const what =
    event.command === 'charge_stop' ? 'stop' : event.command === 'charge_start' ? 'start' : 'set the current of';
  return {
    title: `Smart charging: could not ${what} the car at ${chargerName}`,
    text:
      `${event.command} failed (${event.failure ?? 'unknown'}${event.detail ? `: ${event.detail}` : ''}) after ${event.calls} ` +
      `call${event.calls === 1 ? '' : 's'}. The planner tries again with a backoff; after repeated failures it lets ` +
      'the car charge, so a departure is never missed.',
    data: { type: 'control_failure', ...event, charger_name: chargerName },
  };
}

export interface ControlAlerts {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): { sent: number; suppressed: number };
}

export function createControlAlerts(options: {
  redisUrl: string;
  keyPrefix: string;
  /** For the claims: the API's own connection. */
  redis: Redis;
  notifier: Notifier;
  /** The charger's name by id, for the message. */
  chargerName: (chargerId: string) => Promise<string | undefined>;
  logger: Logger;
}): ControlAlerts {
  const { keyPrefix: prefix, logger } = options;
  let subscriber: Redis | undefined;
  const counts = { sent: 0, suppressed: 0 };

  async function onEvent(text: string): Promise<void> {
    const event = parseRedisPayload(controlEventSchema, text);
    if (!event) return;
    const alert = controlAlert(event, (await options.chargerName(event.charger_id)) ?? event.charger_id);
    if (!alert || options.notifier.channels.length === 0) return;
    const claimed = await options.redis
      .set(`${prefix}control-alert:${event.charger_id}`, event.time, 'EX', CONTROL_ALERT_EVERY_S, 'NX')
      .catch(() => null);
    if (claimed !== 'OK') {
      counts.suppressed += 1;
      return;
    }
    counts.sent += 1;
    const failed = await options.notifier.send(alert);
    if (failed.length > 0) logger.warn({ channels: failed }, 'a smart-charging alert was not delivered');
  }

  return {
    async start() {
      subscriber = createRedisClient(options.redisUrl, { subscriber: true });
      subscriber.on('message', (_channel: string, message: string) => {
        onEvent(message).catch((error: unknown) => logger.warn({ err: error }, 'smart-charging alert failed'));
      });
      await Promise.race([
        subscriber.subscribe(planKeys.eventChannel(prefix)).catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, 2000)),
      ]);
    },
    async stop() {
      subscriber?.disconnect();
      subscriber = undefined;
    },
    stats: () => ({ ...counts }),
  };
}

import { type ControlEvent, planKeys } from '@twc/core/contracts/redis';
import { silentLogger } from '@twc/runtime/logger';
import { servers, uniqueKeyPrefix } from '@twc/testenv/vitest';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { controlAlert, createControlAlerts } from '../../src/notify/control-alerts.js';
import { createNotifier } from '../../src/notify/notifiers.js';
import { startReceiver } from './channels.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const failed: ControlEvent = {
  charger_id: 'PGT0000001',
  time: '2026-01-13T00:05:00.000Z',
  command: 'charge_stop',
  ok: false,
  failure: 'asleep',
  detail: 'vehicle unavailable: vehicle is offline or asleep',
  reason: 'plan_stop',
  calls: 3,
  woke: true,
  duration_ms: 31_000,
};

async function eventually(check: () => void, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('smart-charging alerts', () => {
  it('says which car could not be told what, and that it will charge rather than miss a departure', () => {
    const alert = controlAlert(failed, 'garage');
    expect(alert?.title).toBe('Smart charging: could not stop the car at garage');
    expect(alert?.text).toContain('charge_stop failed (asleep: vehicle unavailable');
    expect(alert?.text).toContain('lets the car charge');
    expect(controlAlert({ ...failed, ok: true, failure: null }, 'garage')).toBeUndefined();
    // A failed read of the car's state steers nothing: no alert.
    expect(controlAlert({ ...failed, command: 'read_state' }, 'garage')).toBeUndefined();
  });

  it('sends a failed command to the alert channels once per charger per half hour, across replicas', async () => {
    const { redis: endpoint } = servers();
    const prefix = uniqueKeyPrefix('control-alerts');
    const webhook = await startReceiver();
    cleanups.push(() => webhook.close());
    const redis = new Redis(endpoint.url);
    cleanups.push(() => {
      redis.disconnect();
    });
    const notifier = createNotifier(
      {
        slackWebhookUrl: undefined,
        discordWebhookUrl: undefined,
        pushover: undefined,
        webhookUrl: webhook.url,
        pushoverApiUrl: webhook.url,
        email: undefined,
      },
      silentLogger(),
    );
    // Two API replicas hear the same event.
    const replicas = [0, 1].map(() =>
      createControlAlerts({
        redisUrl: endpoint.url,
        keyPrefix: prefix,
        redis,
        notifier,
        chargerName: async (id) => (id === failed.charger_id ? 'garage' : undefined),
        logger: silentLogger(),
      }),
    );
    for (const replica of replicas) {
      await replica.start();
      cleanups.push(() => replica.stop());
    }
    await redis.publish(planKeys.eventChannel(prefix), JSON.stringify(failed));
    await eventually(() => expect(webhook.bodies).toHaveLength(1));
    expect(webhook.bodies[0]).toMatchObject({
      title: 'Smart charging: could not stop the car at garage',
      data: { type: 'control_failure', charger_id: failed.charger_id, charger_name: 'garage', failure: 'asleep' },
    });
    // The next failure within the half hour is held back; another charger's is not; a success never alerts.
    await redis.publish(planKeys.eventChannel(prefix), JSON.stringify({ ...failed, time: '2026-01-13T00:10:00.000Z' }));
    await redis.publish(planKeys.eventChannel(prefix), JSON.stringify({ ...failed, ok: true, failure: null }));
    await redis.publish(planKeys.eventChannel(prefix), JSON.stringify({ ...failed, charger_id: 'PGT0000002' }));
    await redis.publish(planKeys.eventChannel(prefix), 'not an event');
    await eventually(() => expect(webhook.bodies).toHaveLength(2));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(webhook.bodies).toHaveLength(2);
    expect(webhook.bodies[1]).toMatchObject({ data: { charger_id: 'PGT0000002' } });
    // Held back: the second replica's copy of each of the two sent, and both copies of the one in the half hour.
    expect(replicas.reduce((sum, replica) => sum + replica.stats().suppressed, 0)).toBe(4);
    expect(replicas.reduce((sum, replica) => sum + replica.stats().sent, 0)).toBe(2);
    expect(await redis.ttl(`${prefix}control-alert:${failed.charger_id}`)).toBeGreaterThan(29 * 60);
  });
});

/**
 * Saving a charger's smart-charging settings, as every writer does it (the
 * API, the Home Assistant bridge): the key and the announcement on the
 * `plan-settings` channel in one transaction, so the planner never hears of
 * a change it cannot read.
 */
import { type PlanSettings, planKeys } from '@twc/core/contracts/redis';
import type { Redis } from 'ioredis';

/** True once Redis has both the settings and the announcement. */
export async function savePlanSettings(
  redis: Redis,
  prefix: string,
  chargerId: string,
  settings: PlanSettings,
): Promise<boolean> {
  const done = await redis
    .multi()
    .set(planKeys.settings(prefix, chargerId), JSON.stringify(settings))
    .publish(planKeys.settingsChannel(prefix), chargerId)
    .exec();
  return done?.every(([error]) => error === null) ?? false;
}

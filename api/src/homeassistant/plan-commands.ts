/**
 * What a command from Home Assistant changes in a charger's smart-charging
 * settings: pure. Each payload is checked against what the entity's
 * discovery config lets Home Assistant send (discovery.ts), then the change
 * against the settings' own schema (planSettingsChangeSchema), as the API
 * checks a PUT body: anything else is refused, never guessed at.
 */
import type { PlanSettings } from '@twc/core/contracts/redis';
import { type PlanSettingsChange, planSettingsChangeSchema } from '@twc/core/planning/plan-settings';
import { READY_BY_OFF, READY_BY_OPTIONS, TARGET_UNIT_OPTIONS, WEEKDAYS, WEEKEND_DAYS } from './discovery.js';

export type CommandOutcome = { ok: true; change: PlanSettingsChange } | { ok: false; why: string };

const refused = (why: string): CommandOutcome => ({ ok: false, why });

/** Home Assistant sends a number as its decimal text ("30" or "30.0"). */
const NUMBER_TEXT = /^-?\d+(\.\d+)?$/;

function readyBy(settings: PlanSettings, days: readonly number[], payload: string): CommandOutcome {
  if (!READY_BY_OPTIONS.includes(payload)) return refused('not one of the ready-by options');
  const time = payload === READY_BY_OFF ? null : payload;
  return { ok: true, change: { ready_by: settings.ready_by.map((old, day) => (days.includes(day) ? time : old)) } };
}

function unchecked(key: string, payload: string, settings: PlanSettings): CommandOutcome {
  switch (key) {
    case 'smart_charging':
      if (payload === 'ON') return { ok: true, change: { smart_charging: true } };
      if (payload === 'OFF') return { ok: true, change: { smart_charging: false } };
      return refused('expected ON or OFF');
    case 'charge_target': {
      if (!NUMBER_TEXT.test(payload)) return refused('expected a number');
      const value = Number(payload);
      if (value < 1) return refused('below the minimum of 1');
      // The planner counts a percent target up to 100 (energyNeeded): more is not what the user meant.
      if (settings.target.unit === 'percent' && value > 100) return refused('a percent target is at most 100');
      return { ok: true, change: { target: { unit: settings.target.unit, value } } };
    }
    case 'target_unit': {
      const unit = (Object.keys(TARGET_UNIT_OPTIONS) as (keyof typeof TARGET_UNIT_OPTIONS)[]).find(
        (candidate) => TARGET_UNIT_OPTIONS[candidate] === payload,
      );
      if (!unit) return refused('expected kWh or %');
      // The value stays; a percent is at most 100.
      const value = unit === 'percent' ? Math.min(100, settings.target.value) : settings.target.value;
      return { ok: true, change: { target: { unit, value } } };
    }
    case 'ready_by_weekdays':
      return readyBy(settings, WEEKDAYS, payload);
    case 'ready_by_weekends':
      return readyBy(settings, WEEKEND_DAYS, payload);
    case 'charge_now':
    case 'resume_plan':
      if (payload !== 'PRESS') return refused('expected PRESS');
      return { ok: true, change: { charge_now: key === 'charge_now' } };
    default:
      return refused('not a command');
  }
}

/** The change a command on entity `key` makes to `settings`, or why it is refused. */
export function planCommand(key: string, payload: string, settings: PlanSettings): CommandOutcome {
  const outcome = unchecked(key, payload, settings);
  if (!outcome.ok) return outcome;
  const parsed = planSettingsChangeSchema.safeParse(outcome.change);
  return parsed.success ? { ok: true, change: parsed.data } : refused(parsed.error.issues[0]?.message ?? 'invalid');
}

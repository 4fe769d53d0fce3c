import { defaultPlanSettings } from '@twc/core/planning/plan-settings';
import { describe, expect, it } from 'vitest';
import { planCommand } from '../../src/homeassistant/plan-commands.js';

const NOW_MS = Date.parse('2026-01-15T23:40:00.000Z');
const settings = defaultPlanSettings(NOW_MS - 86_400_000);

describe('commands from Home Assistant', () => {
  it('turns each control into the change the API would make', () => {
    const cases: [string, string, object][] = [
      ['smart_charging', 'OFF', { smart_charging: false }],
      ['smart_charging', 'ON', { smart_charging: true }],
      ['charge_target', '45', { target: { unit: 'kwh', value: 45 } }],
      ['charge_target', '12.5', { target: { unit: 'kwh', value: 12.5 } }],
      ['target_unit', '%', { target: { unit: 'percent', value: 30 } }],
      ['target_unit', 'kWh', { target: { unit: 'kwh', value: 30 } }],
      ['ready_by_weekdays', '06:30', { ready_by: [null, '06:30', '06:30', '06:30', '06:30', '06:30', null] }],
      ['ready_by_weekdays', 'off', { ready_by: [null, null, null, null, null, null, null] }],
      ['ready_by_weekends', '09:00', { ready_by: ['09:00', '07:00', '07:00', '07:00', '07:00', '07:00', '09:00'] }],
      ['charge_now', 'PRESS', { charge_now: true }],
      ['resume_plan', 'PRESS', { charge_now: false }],
    ];
    for (const [key, payload, change] of cases) {
      expect(planCommand(key, payload, settings), `${key}=${payload}`).toEqual({ ok: true, change });
    }
  });

  it('keeps the value when the unit changes, a percent at most 100', () => {
    const big = { ...settings, target: { unit: 'kwh' as const, value: 150 } };
    expect(planCommand('target_unit', '%', big)).toEqual({
      ok: true,
      change: { target: { unit: 'percent', value: 100 } },
    });
  });

  it('refuses what the entity cannot send, and what the settings schema refuses', () => {
    const percent = { ...settings, target: { unit: 'percent' as const, value: 80 } };
    const cases: [string, string, typeof settings][] = [
      ['smart_charging', 'on', settings],
      ['smart_charging', '', settings],
      ['charge_target', 'thirty', settings],
      ['charge_target', '1e3', settings],
      ['charge_target', '0', settings],
      ['charge_target', '-5', settings],
      ['charge_target', '201', settings],
      ['charge_target', '101', percent],
      ['target_unit', 'kwh', settings],
      ['ready_by_weekdays', '07:15', settings],
      ['ready_by_weekdays', '24:00', settings],
      ['ready_by_weekends', 'null', settings],
      ['charge_now', 'ON', settings],
      ['resume_plan', '', settings],
      ['planned_cost', '1', settings],
      ['buffer_min', '10', settings],
    ];
    for (const [key, payload, current] of cases) {
      expect(planCommand(key, payload, current).ok, `${key}=${payload}`).toBe(false);
    }
  });
});

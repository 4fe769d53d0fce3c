import { describe, expect, it } from 'vitest';
import { createMqttController } from '../../../src/planner/controllers/mqtt.js';
import { createNoneController } from '../../../src/planner/controllers/none.js';

describe('the controllers that never reach the car', () => {
  for (const [kind, create] of [
    ['mqtt', createMqttController],
    ['none', createNoneController],
  ] as const) {
    it(`${kind}: does not command the car, reads nothing, and a mistaken command shows as a failure`, async () => {
      const controller = create(() => 1_000);
      expect(controller.kind).toBe(kind);
      expect(controller.commandsCar).toBe(false);
      const read = await controller.readChargeState();
      expect(read.state).toBeUndefined();
      expect(read.outcome).toMatchObject({ command: 'read_state', ok: true, failure: null, calls: 0 });
      const start = await controller.startCharging();
      expect(start).toMatchObject({ command: 'charge_start', ok: false, failure: 'refused', calls: 0, woke: false });
      expect(start.detail).toContain(kind);
      expect((await controller.setChargingAmps(16)).command).toBe('set_charging_amps');
      expect(controller.usage()).toMatchObject({ calls: {}, failures: 2 });
      await controller.close();
    });
  }
});

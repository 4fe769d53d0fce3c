/**
 * The simulated owners of the demo's cars: at each plug-in an owner tells
 * the planner when the car leaves (a one-off departure through the API,
 * PUT /api/v1/chargers/{id}/plan), as a real owner would in the status page
 * or Home Assistant. Without it the planner would plan to the weekly
 * schedule's 07:00 while the demo's car leaves within the hour, and the demo
 * would show cars leaving half charged.
 */
import type { SimCharger } from './simulation.js';

export interface SimulatedOwners {
  stop(): void;
}

export function startSimulatedOwners(options: {
  chargers: readonly SimCharger[];
  apiUrl: string;
  /** How often the owners look at their cars, real ms. */
  everyMs?: number;
  log?: (line: string) => void;
}): SimulatedOwners {
  const told = new Map<string, string>();
  let busy = false;
  async function look(): Promise<void> {
    for (const charger of options.chargers) {
      const response = await fetch(`http://${charger.host}/sim/car`, { signal: AbortSignal.timeout(2000) });
      if (!response.ok) continue;
      const { owner } = (await response.json()) as { owner: { plug_in: string; leaves: string } | null };
      if (!owner || told.get(charger.serial) === owner.leaves) continue;
      const put = await fetch(`${options.apiUrl}/api/v1/chargers/${encodeURIComponent(charger.serial)}/plan`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ departure_override: owner.leaves }),
        signal: AbortSignal.timeout(5000),
      });
      // The collector may not have announced the charger yet (404): the owner tries again.
      if (put.ok) {
        told.set(charger.serial, owner.leaves);
        options.log?.(`${charger.name}'s owner: leaving at ${owner.leaves}`);
      }
    }
  }
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    look()
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, options.everyMs ?? 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

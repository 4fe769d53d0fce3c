import type { PricePoint } from '../prices/comed-parse.js';
import type { PricingProvider, Tariff } from '../prices/provider.js';
import {
  type ComedPriceBasis,
  createComedProvider,
  createFlatProvider,
  createTouProvider,
} from '../prices/providers.js';
import type { TouSchedule } from '../prices/tariff.js';

/** Which prices sessions are costed at. */
export type PricingSettings =
  | { kind: 'comed'; basis: ComedPriceBasis; tariff: Tariff }
  | { kind: 'flat'; supplyCentsPerKwh: number; tariff: Tariff }
  | { kind: 'tou'; schedule: TouSchedule; timeZone: string; tariff: Tariff };

/** The provider for one computation: ComEd's over the prices loaded for it, as known at `asOfMs`. */
export function providerFor(settings: PricingSettings, prices: readonly PricePoint[], asOfMs: number): PricingProvider {
  switch (settings.kind) {
    case 'comed':
      return createComedProvider({ prices, basis: settings.basis, asOfMs });
    case 'flat':
      return createFlatProvider(settings.supplyCentsPerKwh);
    case 'tou':
      return createTouProvider(settings.schedule, settings.timeZone);
  }
}

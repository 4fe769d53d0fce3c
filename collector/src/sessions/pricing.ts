import type { PricePoint } from '../prices/comed-parse.js';
import type { PricingProvider, Tariff } from '../prices/provider.js';
import {
  type ComedPriceBasis,
  createComedProvider,
  createFlatProvider,
  createTouProvider,
} from '../prices/providers.js';
import { loadTariff, type TariffSettings, type TouSchedule } from '../prices/tariff.js';

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

/** The PRICING, PRICE_BASIS, FLAT_SUPPLY_CENTS_KWH, TIMEZONE and TARIFF_* settings as the collector parsed them. */
export interface PricingConfig {
  kind: PricingSettings['kind'];
  basis: ComedPriceBasis;
  flatSupplyCentsPerKwh: number;
  timeZone: string;
  tariff: TariffSettings;
}

/** Reads the tariff (its file, when one is set) and returns the pricing the settings describe. */
export async function loadPricingSettings(config: PricingConfig): Promise<PricingSettings> {
  const { tariff, tou } = await loadTariff(config.tariff);
  switch (config.kind) {
    case 'comed':
      return { kind: 'comed', basis: config.basis, tariff };
    case 'flat':
      return { kind: 'flat', supplyCentsPerKwh: config.flatSupplyCentsPerKwh, tariff };
    case 'tou':
      if (!tou) throw new Error('PRICING=tou needs a time-of-use schedule in the TARIFF_FILE');
      return { kind: 'tou', schedule: tou, timeZone: config.timeZone, tariff };
  }
}

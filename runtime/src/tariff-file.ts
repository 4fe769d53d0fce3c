/**
 * The tariff as the services read it: the TARIFF_* settings over an optional
 * YAML or JSON file (TARIFF_FILE). Reading the file is I/O, so it lives here;
 * what the file must hold is checked by core's tariff rules.
 */
import { readFile } from 'node:fs/promises';
import type { ComedPriceBasis, PricingSettings } from '@twc/core/prices/pricing';
import {
  parseTariffEnv,
  parseTariffFile,
  TARIFF_DEFAULTS,
  TariffError,
  type TariffFile,
  type TariffSettings,
} from '@twc/core/prices/tariff';

/** Reads a YAML or JSON tariff file (YAML is a superset of JSON). Errors name the file and the field. */
export async function loadTariffFile(path: string): Promise<TariffFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'unknown error';
    throw new TariffError(`cannot read tariff file ${path} (${code})`, { cause: error });
  }
  // Loaded here, not with the module: most installations have no tariff file, and the collector
  // should not carry a YAML parser in memory for years to read none.
  const { parse: parseYaml } = await import('yaml');
  let content: unknown;
  try {
    content = parseYaml(text);
  } catch (error) {
    throw new TariffError(`tariff file ${path} is not valid YAML or JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (content === null || content === undefined) throw new TariffError(`tariff file ${path} is empty`);
  try {
    return parseTariffFile(content);
  } catch (error) {
    if (error instanceof TariffError) throw new TariffError(`${path}: ${error.message}`, { cause: error });
    throw error;
  }
}

/**
 * The tariff from env-style settings: TARIFF_FILE (when set) first, then
 * each TARIFF_* value that is set overrides its field.
 */
export async function loadTariff(values: TariffSettings): Promise<TariffFile> {
  const path = values.TARIFF_FILE?.trim();
  const fromFile: TariffFile = path ? await loadTariffFile(path) : { tariff: { ...TARIFF_DEFAULTS } };
  const tariff = parseTariffEnv(values, fromFile.tariff);
  return fromFile.tou ? { tariff, tou: fromFile.tou } : { tariff };
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

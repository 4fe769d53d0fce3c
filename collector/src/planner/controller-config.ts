/**
 * Which controller commands each charger's car, configured in .env like the
 * chargers: CAR_CONTROL holds `charger=kind[:VIN]` pairs, e.g.
 * `garage=tesla-fleet:5YJ3E1EA7KF000001,barn=tessie:7SAYGDEE1PA000002,shed=mqtt`.
 * Kinds: `tesla-fleet` and `tessie` need the car's VIN; `mqtt` (Home
 * Assistant commands the car from the published plan) and `none` (advice
 * only) take none. A charger not named is `none`.
 *
 * The service settings are required only by the kinds that use them, and
 * every problem names its setting.
 */
import { existsSync } from 'node:fs';
import { parseEnv, withFileSecrets } from '@twc/runtime/env';
import { z } from 'zod';
import type { ControllerKind } from './controller.js';

export interface CarControlEntry {
  charger: string;
  kind: ControllerKind;
  /** For tesla-fleet and tessie. */
  vin?: string;
}

const KINDS: readonly ControllerKind[] = ['tesla-fleet', 'tessie', 'mqtt', 'none'];
/** 17 characters, no I, O or Q (ISO 3779). */
const VIN_PATTERN = /^[A-HJ-NPR-Z0-9]{17}$/;

/** Parses CAR_CONTROL; throws naming the offending entry. */
export function parseCarControl(value: string): CarControlEntry[] {
  const entries = value
    .split(/[\s,;]+/)
    .filter(Boolean)
    .map((entry): CarControlEntry => {
      const at = entry.indexOf('=');
      if (at <= 0 || at === entry.length - 1) throw new Error(`"${entry}" is not charger=kind[:VIN]`);
      const charger = entry.slice(0, at);
      const [kind, vin, ...rest] = entry.slice(at + 1).split(':');
      if (!/^[\w.-]+$/.test(charger)) throw new Error(`charger name "${charger}" may only hold letters, digits, _ . -`);
      if (!KINDS.includes(kind as ControllerKind)) {
        throw new Error(`"${entry}": kind must be one of ${KINDS.join(', ')}, got "${kind}"`);
      }
      if (rest.length > 0) throw new Error(`"${entry}" is not charger=kind[:VIN]`);
      const needsVin = kind === 'tesla-fleet' || kind === 'tessie';
      if (needsVin && vin === undefined)
        throw new Error(`"${entry}": ${kind} needs the car's VIN, e.g. ${charger}=${kind}:5YJ3E1EA7KF000001`);
      if (!needsVin && vin !== undefined) throw new Error(`"${entry}": ${kind} takes no VIN`);
      if (vin !== undefined && !VIN_PATTERN.test(vin.toUpperCase())) {
        throw new Error(`"${entry}": "${vin}" is not a VIN (17 letters and digits, no I, O or Q)`);
      }
      return vin === undefined
        ? { charger, kind: kind as ControllerKind }
        : { charger, kind: kind as ControllerKind, vin: vin.toUpperCase() };
    });
  const seen = new Set<string>();
  for (const { charger } of entries) {
    if (seen.has(charger)) throw new Error(`charger "${charger}" appears twice`);
    seen.add(charger);
  }
  return entries;
}

const httpUrl = () => z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

/** The settings, to compose into the schema of the service that runs the planning loop. */
export const carControlSettings = {
  CAR_CONTROL: z
    .string()
    .default('')
    .transform((value, context) => {
      try {
        return parseCarControl(value);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  TESLA_FLEET_API_URL: httpUrl().default('https://fleet-api.prd.na.vn.cloud.tesla.com'),
  TESLA_AUTH_URL: httpUrl().default('https://auth.tesla.com'),
  TESLA_PROXY_URL: httpUrl().optional(),
  TESLA_PROXY_CA_FILE: z.string().optional(),
  TESLA_CLIENT_ID: z.string().optional(),
  TESLA_REFRESH_TOKEN: z.string().optional(),
  TESLA_TOKEN_FILE: z.string().default('/var/lib/twc/tesla-tokens.json'),
  TESSIE_API_URL: httpUrl().default('https://api.tessie.com'),
  TESSIE_TOKEN: z.string().optional(),
  TESSIE_RETRY_DURATION_S: z.coerce.number().positive().max(300).default(40),
  CAR_CONTROL_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  CAR_WAKE_TIMEOUT_S: z.coerce.number().positive().default(60),
};

/** Every setting the car control reads (for the compose wiring checks). */
export const CAR_CONTROL_SETTINGS = Object.keys(carControlSettings);

/** The settings that may come from NAME_FILE. */
export const CAR_CONTROL_SECRETS = ['TESLA_REFRESH_TOKEN', 'TESSIE_TOKEN'] as const;

type RawSettings = z.output<z.ZodObject<typeof carControlSettings>>;

/** Requires each service's settings when a charger uses it; for the schema's superRefine. */
export function checkCarControlSettings(raw: RawSettings, context: z.RefinementCtx): void {
  const uses = (kind: ControllerKind) => raw.CAR_CONTROL.some((entry) => entry.kind === kind);
  const require = (name: keyof RawSettings, why: string) => {
    if (raw[name] === undefined) context.addIssue({ code: 'custom', path: [name], message: `is required ${why}` });
  };
  if (uses('tesla-fleet')) {
    require('TESLA_CLIENT_ID', 'for tesla-fleet: the client id of your developer.tesla.com app');
    require('TESLA_PROXY_URL', "for tesla-fleet: the address of Tesla's vehicle-command proxy, e.g. https://tesla-proxy:4443");
    if (raw.TESLA_REFRESH_TOKEN === undefined && !existsSync(raw.TESLA_TOKEN_FILE)) {
      context.addIssue({
        code: 'custom',
        path: ['TESLA_REFRESH_TOKEN'],
        message: `is required for tesla-fleet (or TESLA_REFRESH_TOKEN_FILE) until ${raw.TESLA_TOKEN_FILE} holds tokens`,
      });
    }
    if (raw.TESLA_PROXY_CA_FILE !== undefined && !existsSync(raw.TESLA_PROXY_CA_FILE)) {
      context.addIssue({
        code: 'custom',
        path: ['TESLA_PROXY_CA_FILE'],
        message: `no such file: ${raw.TESLA_PROXY_CA_FILE}`,
      });
    }
  }
  if (uses('tessie')) require('TESSIE_TOKEN', 'for tessie (or TESSIE_TOKEN_FILE): the token from dash.tessie.com');
}

export type CarControlConfig = ReturnType<typeof carControlConfigOf>;

/** The config from parsed settings. */
export function carControlConfigOf(raw: RawSettings) {
  return {
    entries: raw.CAR_CONTROL,
    teslaFleet: {
      apiUrl: raw.TESLA_FLEET_API_URL,
      authUrl: raw.TESLA_AUTH_URL,
      proxyUrl: raw.TESLA_PROXY_URL,
      proxyCaFile: raw.TESLA_PROXY_CA_FILE,
      clientId: raw.TESLA_CLIENT_ID,
      refreshToken: raw.TESLA_REFRESH_TOKEN,
      tokenFile: raw.TESLA_TOKEN_FILE,
    },
    tessie: { apiUrl: raw.TESSIE_API_URL, token: raw.TESSIE_TOKEN, retryDurationS: raw.TESSIE_RETRY_DURATION_S },
    timeoutMs: raw.CAR_CONTROL_TIMEOUT_MS,
    wakeTimeoutMs: raw.CAR_WAKE_TIMEOUT_S * 1000,
  };
}

/**
 * Parses the car-control settings on their own (a service may instead
 * compose `carControlSettings` into its schema). With `chargerNames`, an
 * entry naming no configured charger is an error.
 */
export function loadCarControlConfig(env: NodeJS.ProcessEnv, chargerNames?: readonly string[]): CarControlConfig {
  const schema = z
    .object(carControlSettings)
    .superRefine(checkCarControlSettings)
    .superRefine((raw, context) => {
      if (!chargerNames) return;
      for (const { charger } of raw.CAR_CONTROL) {
        if (!chargerNames.includes(charger)) {
          context.addIssue({
            code: 'custom',
            path: ['CAR_CONTROL'],
            message: `names charger "${charger}", which CHARGERS does not (have: ${chargerNames.join(', ')})`,
          });
        }
      }
    });
  return carControlConfigOf(parseEnv(schema, withFileSecrets(env, CAR_CONTROL_SECRETS), 'car control'));
}

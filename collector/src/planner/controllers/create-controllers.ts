/**
 * The controllers of all chargers, from the car-control config: one per
 * charger (`none` where CAR_CONTROL names none), the Tesla cars of the
 * account sharing one token source, since Tesla rotates the refresh token
 * on every use.
 */
import { readFileSync } from 'node:fs';
import type { ChargeController } from '../controller.js';
import type { CarControlConfig } from '../controller-config.js';
import { createMqttController, createNoneController } from './advice-only.js';
import { createTeslaFleetController } from './tesla-fleet.js';
import { createTeslaTokenSource, type TeslaTokenSource } from './tesla-tokens.js';
import { createTessieController } from './tessie.js';

export interface ControllerFactoryOptions {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** A controller for every name in `chargerNames`; the caller closes them. */
export function createChargeControllers(
  config: CarControlConfig,
  chargerNames: readonly string[],
  options: ControllerFactoryOptions = {},
): Map<string, ChargeController> {
  const now = options.now ?? Date.now;
  const clock = { now, ...(options.sleep ? { sleep: options.sleep } : {}) };
  const { teslaFleet, tessie } = config;
  let tokens: TeslaTokenSource | undefined;
  let proxyCaPem: string | undefined;
  const controllers = new Map<string, ChargeController>();
  for (const charger of chargerNames) {
    const entry = config.entries.find((candidate) => candidate.charger === charger);
    if (!entry || entry.kind === 'none') {
      controllers.set(charger, createNoneController(now));
    } else if (entry.kind === 'mqtt') {
      controllers.set(charger, createMqttController(now));
    } else if (entry.kind === 'tesla-fleet') {
      if (!teslaFleet.clientId || !teslaFleet.proxyUrl || !entry.vin) {
        throw new Error(`${charger}: tesla-fleet needs TESLA_CLIENT_ID, TESLA_PROXY_URL and the VIN`);
      }
      tokens ??= createTeslaTokenSource({
        authUrl: teslaFleet.authUrl,
        clientId: teslaFleet.clientId,
        refreshToken: teslaFleet.refreshToken,
        tokenFile: teslaFleet.tokenFile,
        timeoutMs: config.timeoutMs,
        now,
      });
      if (teslaFleet.proxyCaFile && proxyCaPem === undefined) proxyCaPem = readFileSync(teslaFleet.proxyCaFile, 'utf8');
      controllers.set(
        charger,
        createTeslaFleetController({
          vin: entry.vin,
          apiUrl: teslaFleet.apiUrl,
          proxyUrl: teslaFleet.proxyUrl,
          tokens,
          ...(proxyCaPem ? { proxyCaPem } : {}),
          timeoutMs: config.timeoutMs,
          wakeTimeoutMs: config.wakeTimeoutMs,
          ...clock,
        }),
      );
    } else {
      if (!tessie.token || !entry.vin) throw new Error(`${charger}: tessie needs TESSIE_TOKEN and the VIN`);
      controllers.set(
        charger,
        createTessieController({
          vin: entry.vin,
          apiUrl: tessie.apiUrl,
          token: tessie.token,
          timeoutMs: config.timeoutMs,
          retryDurationS: tessie.retryDurationS,
          ...clock,
        }),
      );
    }
  }
  return controllers;
}

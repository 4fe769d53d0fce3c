/**
 * The loop that keeps one charger's plan true: every step it reads what the
 * Wall Connector shows (its vitals, as the collector left them in Redis),
 * the forecast and the user's settings, re-plans when something changed or
 * five minutes passed, asks the control state machine what to tell the car
 * and tells it through the charger's controller.
 *
 * Fail safe, always towards charging: no current forecast, no fresh vitals,
 * smart charging off, "charge now", a controller that keeps failing, a user
 * who started the car from the app: the car may charge, and a car this loop
 * stopped is started again. Stopping the planner starts the cars it stopped.
 */
import type { LiveSession, LiveVitals, PlanSettings, PlanState, PriceForecast } from '@twc/core/contracts/redis';
import {
  type ControlMode,
  type ControlSettings,
  type ControlState,
  commandResult,
  DEFAULT_CONTROL_SETTINGS,
  decide,
  INITIAL_CONTROL_STATE,
} from '@twc/core/planning/charge-control';
import { type ChargePlan, planCharge } from '@twc/core/planning/charge-plan';
import { nextDeparture } from '@twc/core/planning/departure';
import { type CarBattery, energyNeeded, planPayload, rulesOf, scheduleOf } from '@twc/core/planning/plan-settings';
import { FIVE_MINUTES_MS, HOUR_MS } from '@twc/core/prices/comed-clock';
import { expectedHourAverage, type HourEstimate } from '@twc/core/prices/forecast';
import type { Tariff } from '@twc/core/prices/pricing';
import type { CarChargeState, ChargeController, ControlOutcome } from './controller.js';

export interface ChargerLoopOptions {
  chargerId: string;
  chargerName: string;
  controller: ChargeController;
  tariff: Tariff;
  timeZone: string;
  /** Charging power until one is measured in the session, kW. */
  defaultPowerKw: number;
  /** Usable battery capacity when the car does not tell it, kWh. */
  capacityKwh: number;
  /** Battery energy per wall energy. */
  efficiency: number;
  /** Re-plan at least this often. */
  replanMs: number;
  /** Read the car's state at most this often while plugged in (Tesla bills each call). */
  carReadMs: number;
  /** Vitals older than this are not trusted: the loop stops commanding stops. */
  vitalsStaleMs: number;
  /** A forecast computed longer ago than this is not planned on. */
  forecastStaleMs: number;
  control?: ControlSettings;
  /** The state published before a restart: a stop of ours is not forgotten. */
  restored?: PlanState;
  now: () => number;
}

export interface LoopInputs {
  vitals: LiveVitals | undefined;
  session: LiveSession | undefined;
  forecast: PriceForecast | undefined;
  settings: PlanSettings;
}

export interface LoopStep {
  state: PlanState;
  /** The commands sent in this step and their answers. */
  outcomes: { outcome: ControlOutcome; reason: string }[];
  /** Set when the plan was recomputed in this step. */
  replanned: ChargePlan | undefined;
  /** The settings with "charge now" cleared: the car was unplugged. */
  settingsUpdate: PlanSettings | undefined;
}

export interface ChargerLoop {
  step(inputs: LoopInputs): Promise<LoopStep>;
  /**
   * Starts the car again if a stop of ours is in effect or on its way (the
   * planner is going away); the state to publish with it, so the next planner
   * does not take the car charging for the user's doing.
   */
  release(): Promise<{ outcome: ControlOutcome; state: PlanState | undefined } | undefined>;
}

const iso = (ms: number) => new Date(ms).toISOString();

function controlStateOf(restored: PlanState | undefined): ControlState {
  if (!restored) return INITIAL_CONTROL_STATE;
  const c = restored.control;
  return {
    lastCommand: c.last_command && {
      command: c.last_command.command,
      atMs: Date.parse(c.last_command.at),
      ok: c.last_command.ok,
    },
    failures: c.failures,
    stoppedByUs: c.stopped_by_us,
    userOverride: c.user_override,
    failSafe: c.fail_safe,
  };
}

/**
 * The forecast's hours as the planner takes them. The running hour is priced
 * at what it is expected to be billed, not at its prices so far: those so far
 * (as many as the feed's newest stamp says), the rest at its day-ahead price
 * moved toward what the prices so far show (forecast.ts expectedHourAverage).
 */
export function estimatesOf(forecast: PriceForecast): HourEstimate[] {
  const feedMs = forecast.feed_time === null ? undefined : Date.parse(forecast.feed_time);
  return forecast.hours.map((hour) => {
    const hourEndingMs = Date.parse(hour.hour_ending);
    let price = hour.price_cents_kwh;
    if (
      hour.source === 'running' &&
      feedMs !== undefined &&
      feedMs >= hourEndingMs - HOUR_MS &&
      feedMs < hourEndingMs
    ) {
      const count = Math.floor((feedMs - (hourEndingMs - HOUR_MS)) / FIVE_MINUTES_MS) + 1;
      price = expectedHourAverage(
        { priceCentsPerKwh: hour.price_cents_kwh, count },
        hour.day_ahead_cents_kwh,
        forecast.errors.day_ahead,
      );
    }
    const shift = price - hour.price_cents_kwh;
    return {
      hourEndingMs,
      priceCentsPerKwh: price,
      source: hour.source,
      lowCents: hour.low_cents_kwh + shift,
      highCents: hour.high_cents_kwh + shift,
    };
  });
}

export function createChargerLoop(options: ChargerLoopOptions): ChargerLoop {
  const control = options.control ?? DEFAULT_CONTROL_SETTINGS;
  const { controller } = options;
  let controlState = controlStateOf(options.restored);
  let plugged = options.restored ? options.restored.status !== 'unplugged' : false;
  let car: CarChargeState | undefined;
  let carReadAtMs = Number.NEGATIVE_INFINITY;
  let carReadDue = true;
  /** Session energy when the car was read: the need then, less what has been delivered since. */
  let sessionKwhAtRead = 0;
  let measuredPowerKw: number | undefined;
  let plan: ChargePlan | undefined;
  let planKey = '';
  let lastEvent: PlanState['last_event'] = options.restored?.last_event ?? null;
  let lastState: PlanState | undefined;

  function controlPayload(): PlanState['control'] {
    return {
      last_command: controlState.lastCommand && {
        command: controlState.lastCommand.command,
        at: iso(controlState.lastCommand.atMs),
        ok: controlState.lastCommand.ok,
      },
      failures: controlState.failures,
      stopped_by_us: controlState.stoppedByUs,
      user_override: controlState.userOverride,
      fail_safe: controlState.failSafe,
    };
  }

  async function readCar(nowMs: number, sessionKwh: number): Promise<ControlOutcome | undefined> {
    if (!controller.commandsCar) return undefined;
    const { state, outcome } = await controller.readChargeState();
    carReadAtMs = nowMs;
    carReadDue = false;
    if (state) {
      car = state;
      sessionKwhAtRead = sessionKwh;
    }
    return outcome;
  }

  function battery(): CarBattery | undefined {
    if (!car) return undefined;
    return {
      batteryLevelPct: car.batteryLevelPct,
      chargeLimitPct: car.chargeLimitPct,
      usableCapacityKwh: car.usableCapacityKwh,
    };
  }

  function statusOf(inputs: LoopInputs, fresh: boolean, pricesKnown: boolean, complete: boolean): PlanState['status'] {
    if (!fresh) return 'stale';
    if (!inputs.vitals?.vitals.vehicle_connected) return 'unplugged';
    if (!inputs.settings.smart_charging) return 'off';
    if (inputs.settings.charge_now) return 'charge_now';
    if (controlState.userOverride) return 'user_override';
    if (controlState.failSafe) return 'fail_safe';
    if (complete) return 'complete';
    if (!pricesKnown) return 'no_prices';
    return plan?.mode === 'deadline' ? 'deadline' : 'planned';
  }

  return {
    async step(inputs) {
      const nowMs = options.now();
      const outcomes: LoopStep['outcomes'] = [];
      let settingsUpdate: PlanSettings | undefined;
      let replanned: ChargePlan | undefined;
      const vitals = inputs.vitals;
      const fresh = vitals !== undefined && nowMs - Date.parse(vitals.time) <= options.vitalsStaleMs;
      const connected = fresh && vitals.vitals.vehicle_connected;
      const sessionOpen = inputs.session?.open === true;
      const sessionKwh = sessionOpen && inputs.session ? inputs.session.session.energyWh / 1000 : 0;

      if (fresh && !connected) {
        // Unplugged: everything about this car is forgotten; "charge now" was for this plug-in.
        if (plugged || controlState !== INITIAL_CONTROL_STATE) controlState = INITIAL_CONTROL_STATE;
        plugged = false;
        car = undefined;
        carReadDue = true;
        measuredPowerKw = undefined;
        plan = undefined;
        planKey = '';
        if (inputs.settings.charge_now) {
          settingsUpdate = { ...inputs.settings, charge_now: false, updated: iso(nowMs) };
        }
      }
      if (connected && !plugged) {
        plugged = true;
        carReadDue = true;
      }
      // The most this plug-in has drawn: a sample in the ramp after a start or the wind-down of a stop is not the car's power.
      if (connected && vitals.vitals.charging && vitals.vitals.power_w > 1000) {
        measuredPowerKw = Math.max(measuredPowerKw ?? 0, vitals.vitals.power_w / 1000);
      }
      if (connected && (carReadDue || (vitals.vitals.charging && nowMs - carReadAtMs >= options.carReadMs))) {
        const outcome = await readCar(nowMs, sessionKwh);
        if (outcome && !outcome.ok) outcomes.push({ outcome, reason: 'read_state' });
      }

      const settings = settingsUpdate ?? inputs.settings;
      const forecast = inputs.forecast;
      const pricesKnown =
        forecast !== undefined &&
        nowMs - Date.parse(forecast.computed_at) <= options.forecastStaleMs &&
        forecast.hours.length > 0;
      let need: PlanState['need'] = null;
      let departureMs: number | undefined;
      if (connected) {
        const delivered = car ? Math.max(0, sessionKwh - sessionKwhAtRead) : 0;
        const computed = energyNeeded({
          settings,
          car: battery(),
          sessionKwh,
          capacityKwh: options.capacityKwh,
          efficiency: options.efficiency,
        });
        const energyKwh = Math.max(0, computed.energyKwh - (computed.from === 'car' ? delivered : 0));
        need = {
          energy_kwh: Math.round(energyKwh * 1000) / 1000,
          from: computed.from,
          battery_level_pct: computed.batteryLevelPct,
          charge_limit_pct: computed.chargeLimitPct,
        };
        const overrideMs = settings.departure_override ? Date.parse(settings.departure_override) : null;
        departureMs = nextDeparture(scheduleOf(settings), overrideMs, nowMs, options.timeZone);
        if (departureMs === undefined && forecast && forecast.hours.length > 0) {
          // No departure in the schedule: the cheapest hours of the forecast's horizon.
          departureMs = Date.parse(forecast.hours.at(-1)?.hour_ending as string);
        }
      }
      const powerKw = measuredPowerKw ?? options.defaultPowerKw;

      // Re-plan on a change of anything the plan depends on, and every few minutes.
      if (connected && pricesKnown && need && departureMs !== undefined) {
        const key = [
          forecast.computed_at,
          settings.updated,
          car?.atMs ?? '',
          departureMs,
          Math.round(powerKw * 10),
        ].join('|');
        if (!plan || key !== planKey || nowMs - plan.computedAtMs >= options.replanMs) {
          plan = planCharge({
            nowMs,
            energyKwh: need.energy_kwh,
            powerKw,
            departureMs,
            estimates: estimatesOf(forecast),
            tariff: options.tariff,
            rules: rulesOf(settings),
            // A re-plan starts or stops a car only for a worthwhile difference (the switch margin).
            charging: vitals.vitals.charging,
          });
          planKey = key;
          replanned = plan;
        }
      } else if (!connected || !pricesKnown) {
        plan = undefined;
        planKey = '';
      }

      const complete = car?.chargingState === 'complete' || (need !== null && need.energy_kwh <= 0.05);
      const planSaysCharge = plan ? plan.runs.some((run) => run.startMs <= nowMs && nowMs < run.endMs) : undefined;
      const mode: ControlMode =
        !settings.smart_charging || !pricesKnown ? 'off' : settings.charge_now ? 'charge_now' : 'smart';
      let reason = 'unplugged';
      let chargingAllowed = true;
      if (fresh) {
        const decision = decide(
          controlState,
          {
            nowMs,
            mode,
            planSaysCharge,
            vehicleConnected: connected,
            charging: vitals.vitals.charging,
            complete: car?.chargingState === 'complete',
          },
          control,
        );
        controlState = decision.state;
        reason = decision.reason;
        chargingAllowed = decision.chargingAllowed;
        if (decision.send && controller.commandsCar) {
          const outcome =
            decision.send === 'start' ? await controller.startCharging() : await controller.stopCharging();
          controlState = commandResult(controlState, outcome.ok, control);
          outcomes.push({ outcome, reason: decision.reason });
          // A failure that gave up on the plan lets the car charge from now.
          chargingAllowed = chargingAllowed || controlState.failSafe;
          // Read the car again after a command: its state of charge and what it made of it.
          carReadDue = true;
        } else if (decision.send) {
          // Nobody to tell (mqtt, none): Home Assistant follows `charging_allowed`; nothing is in effect of ours.
          controlState = { ...controlState, lastCommand: null };
        }
      } else if (controlState.stoppedByUs && controller.commandsCar) {
        // No fresh vitals while a stop of ours holds: start the car again rather than trust what we cannot see.
        const decision = decide(
          controlState,
          { nowMs, mode: 'off', planSaysCharge: undefined, vehicleConnected: true, charging: false },
          control,
        );
        controlState = decision.state;
        reason = decision.reason;
        if (decision.send === 'start') {
          const outcome = await controller.startCharging();
          controlState = commandResult(controlState, outcome.ok, control);
          outcomes.push({ outcome, reason: 'stale_vitals' });
        }
      } else {
        reason = 'stale_vitals';
      }

      for (const { outcome, reason: why } of outcomes) {
        lastEvent = {
          charger_id: options.chargerId,
          time: iso(nowMs),
          command: outcome.command,
          ok: outcome.ok,
          failure: outcome.failure,
          detail: outcome.detail,
          reason: why,
          calls: outcome.calls,
          woke: outcome.woke,
          duration_ms: outcome.durationMs,
        };
      }
      const usage = controller.usage();
      const state: PlanState = {
        charger_id: options.chargerId,
        charger_name: options.chargerName,
        controller: controller.kind,
        status: statusOf({ ...inputs, settings }, fresh, pricesKnown, complete),
        charging_allowed: chargingAllowed,
        reason,
        need,
        power_kw: connected ? Math.round(powerKw * 100) / 100 : null,
        departure: departureMs === undefined ? null : iso(departureMs),
        deadline: plan ? iso(plan.deadlineMs) : null,
        plan: plan ? planPayload(plan) : null,
        control: controlPayload(),
        usage: { calls: usage.calls, failures: usage.failures },
        last_event: lastEvent,
        updated: iso(nowMs),
      };
      lastState = state;
      return { state, outcomes, replanned, settingsUpdate };
    },

    async release() {
      const last = controlState.lastCommand;
      const ours = controlState.stoppedByUs || (last?.command === 'stop' && last.ok !== false);
      if (!ours || !controller.commandsCar) return undefined;
      const outcome = await controller.startCharging();
      const atMs = options.now();
      controlState = outcome.ok
        ? { ...controlState, stoppedByUs: false, failures: 0, lastCommand: { command: 'start', atMs, ok: true } }
        : commandResult(controlState, false, control);
      const state = lastState && { ...lastState, control: controlPayload(), updated: iso(atMs) };
      return { outcome, state };
    },
  };
}

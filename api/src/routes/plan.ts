import { type PlanSettings, planSettingsSchema, planStateSchema } from '@twc/core/contracts/redis';
import {
  changedSettings,
  defaultPlanSettings,
  isPlanStale,
  planSettingsChangeSchema,
} from '@twc/core/planning/plan-settings';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError, unavailable } from '../errors.js';
import { chargerIdParams, errorSchema } from '../schemas.js';
import { requireKnownCharger } from './chargers.js';

const planResponse = z
  .object({
    charger_id: z.string(),
    settings: planSettingsSchema,
    /** `saved`: set by the user (or the planner's defaults saved); `default`: nothing saved yet. */
    settings_source: z.enum(['saved', 'default']),
    plan: planStateSchema.nullable(),
    /** Seconds since the planner last wrote this charger's state; null when it never did. */
    age_s: z.number().nullable(),
    /** The planner has not written for a while (or never): what `plan` says may no longer hold. */
    stale: z.boolean(),
  })
  .meta({ id: 'ChargePlan' });

/**
 * Smart charging: a charger's settings and the planner's current plan
 * (GET), and the routes that steer the car (PUT settings, charge now,
 * resume the plan). The steering routes need auth whenever auth is on; with
 * auth off they are refused unless CONTROL_WITHOUT_AUTH=true was set on
 * purpose, since anyone on the network could otherwise stop a car charging.
 */
export async function planRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  const requireCharger = (id: string) => requireKnownCharger(app, id);

  async function current(id: string) {
    const read = await app.live.plan(id);
    if (read === undefined) throw unavailable('Redis is unavailable: the plan and its settings cannot be read');
    return read;
  }

  async function answer(id: string) {
    const { settings, state } = await current(id);
    const nowMs = app.now();
    const ageS = state ? Math.max(0, (nowMs - Date.parse(state.updated)) / 1000) : null;
    return {
      charger_id: id,
      settings: settings ?? defaultPlanSettings(nowMs),
      settings_source: settings ? ('saved' as const) : ('default' as const),
      plan: state ?? null,
      age_s: ageS,
      stale: isPlanStale(state, nowMs),
    };
  }

  async function save(id: string, change: (settings: PlanSettings) => PlanSettings) {
    await requireCharger(id);
    const { settings } = await current(id);
    const next = change(settings ?? defaultPlanSettings(app.now()));
    if (!(await app.live.writePlanSettings(id, next))) {
      throw unavailable('Redis is unavailable: the settings were not saved');
    }
    return answer(id);
  }

  /** The steering routes: refused with auth off unless allowed on purpose (the auth hook checked the credential). */
  async function controlAllowed(_request: FastifyRequest): Promise<void> {
    const { auth } = app.config;
    if (auth.mode === 'none' && !auth.controlWithoutAuth) {
      throw new ApiError(
        403,
        'steering a car needs authentication: set AUTH_MODE (jwt or apikey), or CONTROL_WITHOUT_AUTH=true on a trusted network',
      );
    }
  }

  const responses = { 200: planResponse, 404: errorSchema, 503: errorSchema };
  const controlResponses = { ...responses, 400: errorSchema, 403: errorSchema };

  routes.get(
    '/chargers/:id/plan',
    {
      schema: {
        tags: ['smart charging'],
        summary: 'Smart-charging settings and the current plan',
        description:
          "The user's settings (weekly ready-by times, target, price rules) and the planner's state: the hours it will charge in, the expected cost and saving against charging at once, what it last told the car and why. `stale` when the planner has not written for three minutes.",
        params: chargerIdParams,
        response: responses,
      },
    },
    async (request) => {
      const { id } = request.params;
      await requireCharger(id);
      return answer(id);
    },
  );

  routes.put(
    '/chargers/:id/plan',
    {
      preHandler: controlAllowed,
      schema: {
        tags: ['smart charging'],
        summary: 'Change smart-charging settings',
        description:
          'Any of the settings; the others keep their values. The planner re-plans at once. Needs auth (or CONTROL_WITHOUT_AUTH=true).',
        params: chargerIdParams,
        body: planSettingsChangeSchema,
        response: controlResponses,
      },
    },
    async (request) => {
      const { id } = request.params;
      const change = request.body;
      if (change.departure_override !== undefined && change.departure_override !== null) {
        const atMs = Date.parse(change.departure_override);
        if (!Number.isFinite(atMs)) throw new ApiError(400, 'body.departure_override: must be an ISO 8601 instant');
        change.departure_override = new Date(atMs).toISOString();
      }
      return save(id, (settings) => changedSettings(settings, change, app.now()));
    },
  );

  routes.post(
    '/chargers/:id/charge-now',
    {
      preHandler: controlAllowed,
      schema: {
        tags: ['smart charging'],
        summary: 'Charge now, whatever the plan says',
        description:
          'Until the car is unplugged or the plan is resumed, the car charges at once (a car the planner stopped is started). Needs auth (or CONTROL_WITHOUT_AUTH=true).',
        params: chargerIdParams,
        response: controlResponses,
      },
    },
    async (request) =>
      save(request.params.id, (settings) => changedSettings(settings, { charge_now: true }, app.now())),
  );

  routes.post(
    '/chargers/:id/resume-plan',
    {
      preHandler: controlAllowed,
      schema: {
        tags: ['smart charging'],
        summary: 'Back to the plan after "charge now"',
        params: chargerIdParams,
        response: controlResponses,
      },
    },
    async (request) =>
      save(request.params.id, (settings) => changedSettings(settings, { charge_now: false }, app.now())),
  );
}

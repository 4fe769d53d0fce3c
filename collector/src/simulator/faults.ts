import { z } from 'zod';

/**
 * Faults a simulated charger can be told to show, each one a behaviour the
 * real Wall Connector has been seen to have (see the reference notes on the
 * device): a slow first byte, invalid JSON, 500s, dropped connections,
 * reboots, a session-energy counter that resets mid-session, and Wi-Fi
 * drop-outs. Durations are in real milliseconds (the time a client waits),
 * not simulated time.
 */

const count = z.number().int().positive().max(1_000_000).default(1);
/** Restricts a response fault to one endpoint, e.g. `/api/1/vitals`; any `/api/1/...` endpoint when absent. */
const path = z
  .string()
  .regex(/^\/api\/1\/[a-z_]+$/, 'path must look like /api/1/vitals')
  .optional();

export const simFaultSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('slow-first-byte'),
    delayMs: z.number().int().min(0).max(600_000),
    count,
    path,
  }),
  z.object({ kind: z.literal('invalid-json-nan'), count, path }),
  z.object({ kind: z.literal('invalid-json-truncated'), count, path }),
  z.object({ kind: z.literal('http-500'), count, path }),
  z.object({ kind: z.literal('drop-connection'), count, path }),
  z.object({ kind: z.literal('reboot') }),
  z.object({ kind: z.literal('session-energy-reset') }),
  z.object({ kind: z.literal('wifi-dropout'), durationMs: z.number().int().positive().max(86_400_000) }),
]);

/** A fault as callers write it (`count` defaults to 1). */
export type SimFault = z.input<typeof simFaultSchema>;
/** A fault after validation, defaults filled in. */
export type ParsedSimFault = z.output<typeof simFaultSchema>;
export type SimFaultKind = ParsedSimFault['kind'];
/** The faults that change what a response says or whether it comes, for the next `count` requests. */
export type ResponseFault = Extract<
  ParsedSimFault,
  { kind: 'slow-first-byte' | 'invalid-json-nan' | 'invalid-json-truncated' | 'http-500' | 'drop-connection' }
>;

export const SIM_FAULT_KINDS: readonly SimFaultKind[] = [
  'slow-first-byte',
  'invalid-json-nan',
  'invalid-json-truncated',
  'http-500',
  'drop-connection',
  'reboot',
  'session-energy-reset',
  'wifi-dropout',
];

/** Validates a fault; throws an Error whose message names the offending field. */
export function parseSimFault(input: unknown): ParsedSimFault {
  const result = simFaultSchema.safeParse(input);
  if (!result.success) throw new Error(`invalid fault: ${z.prettifyError(result.error)}`);
  return result.data;
}

export function isResponseFault(fault: ParsedSimFault): fault is ResponseFault {
  return (
    fault.kind === 'slow-first-byte' ||
    fault.kind === 'invalid-json-nan' ||
    fault.kind === 'invalid-json-truncated' ||
    fault.kind === 'http-500' ||
    fault.kind === 'drop-connection'
  );
}

/**
 * The stable `code` of a failure (Node's `ECONNREFUSED`, undici's
 * `UND_ERR_CONNECT_TIMEOUT`, llhttp's `HPE_*`), looking through the wrappers
 * around it: a `cause` chain, and the AggregateError of per-address errors a
 * Happy Eyeballs connect (several addresses) fails with. Failures are
 * classified by code, never by message: codes are stable, messages are not.
 */
export function errorCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 8) return undefined;
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string') return code;
  if (Array.isArray(errors)) {
    for (const inner of errors) {
      const innerCode = errorCode(inner, depth + 1);
      if (innerCode) return innerCode;
    }
  }
  return errorCode(cause, depth + 1);
}

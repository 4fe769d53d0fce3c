/**
 * Errors whose message is written for the client. The error handler answers
 * any error's message below 500, but at 500 and above only these: a library's
 * message could leak internals (a query, a host name, a stack).
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** 400 naming the field, in the same form as schema validation errors: `field: problem`. */
export function badRequest(field: string, problem: string): ApiError {
  return new ApiError(400, `${field}: ${problem}`);
}

export function notFound(message: string): ApiError {
  return new ApiError(404, message);
}

export function unavailable(message: string): ApiError {
  return new ApiError(503, message);
}

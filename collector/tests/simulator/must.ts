/** The value, or a thrown error when it is missing: a checked alternative to the `!` assertion in tests. */
export function must<T>(value: T | null | undefined, what = 'value'): T {
  if (value === null || value === undefined) throw new Error(`expected a ${what}, got ${value}`);
  return value;
}

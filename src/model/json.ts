/** A JSON object as Latchkey stores it: string keys, any JSON values. */
export type JsonObject = { [key: string]: unknown };

/** A non-null, non-array object: what `typeof x === 'object'` alone does not rule out. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

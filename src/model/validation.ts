import { InvalidRequestError } from './errors.js';
import type { JsonObject } from './connection.js';
import { isPlainObject } from './json.js';

/** Nango's limit for connection ids and provider config keys. */
export const MAX_ID_LENGTH = 255;
/** Serialized size limit for `metadata` and `connection_config`. */
export const MAX_OBJECT_BYTES = 64 * 1024;

// Control characters in ids end up in logs and storage keys; refusing them is the point.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/**
 * The characters Nango's API takes in ids (packages/server/lib/helpers/validation.ts:
 * `connectionIdSchema`, `providerConfigKeySchema`), 1–255 of them.
 */
const NANGO_ID_CHARACTERS = {
  connectionId: { pattern: /[A-Za-z0-9,.;:=+~[\]|@${}"'\\/_ -]/u, listed: `, . ; : = + ~ [ ] | @ $ { } " ' \\ / _ -` },
  providerConfigKey: { pattern: /[A-Za-z0-9~:.@ _-]/u, listed: '~ : . @ _ -' },
} as const;

/**
 * A connection id or provider config key: a non-empty string of at most 255 characters without
 * control characters. Latchkey's manager takes more than Nango's API does (any other character,
 * non-ASCII included), so ids already stored stay reachable; with `rules: 'nango'` the id must
 * also be one Nango's API takes ({@link nangoIdProblem}) — for ids that cross to Nango.
 */
export function assertId(
  value: unknown,
  field: 'connectionId' | 'providerConfigKey' | 'providerConfigKeys' | 'endUserId',
  rules: 'latchkey' | 'nango' = 'latchkey',
): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidRequestError(`${field} must be a non-empty string`, field);
  }
  if (value.length > MAX_ID_LENGTH) {
    throw new InvalidRequestError(`${field} must be at most ${MAX_ID_LENGTH} characters`, field);
  }
  if (CONTROL_CHARACTERS.test(value)) {
    throw new InvalidRequestError(`${field} must not contain control characters`, field);
  }
  const problem =
    rules === 'nango' && (field === 'connectionId' || field === 'providerConfigKey')
      ? nangoIdProblem(value, field)
      : undefined;
  if (problem) throw new InvalidRequestError(problem, field);
  return value;
}

/**
 * Why Nango's API would refuse this connection id (or provider config key), or `undefined` when
 * it takes it. A connection id may hold letters, digits, spaces and `, . ; : = + ~ [ ] | @ $ { }
 * " ' \ / _ -`; a provider config key letters, digits, spaces and `~ : . @ _ -`; either 1–255
 * characters.
 */
export function nangoIdProblem(value: string, field: 'connectionId' | 'providerConfigKey'): string | undefined {
  if (value.length === 0 || value.length > MAX_ID_LENGTH)
    return `${field} must be 1 to ${MAX_ID_LENGTH} characters long for Nango`;
  const { pattern, listed } = NANGO_ID_CHARACTERS[field];
  const refused = [...value].find((char) => !pattern.test(char));
  if (refused === undefined) return undefined;
  return `${field} may contain only letters A-Z and a-z, digits, spaces and ${listed} for Nango; ${JSON.stringify(refused)} is not one of them`;
}

/** A plain JSON object (no class instances, functions or cycles) within the size limit; returns a copy. */
export function assertJsonObject(value: unknown, field: string): JsonObject {
  if (!isPlainObject(value)) {
    throw new InvalidRequestError(`${field} must be a plain object`, field);
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    throw new InvalidRequestError(`${field} must be a plain object`, field);
  }
  let serialized: string;
  try {
    serialized = JSON.stringify(value);
  } catch {
    throw new InvalidRequestError(`${field} must be JSON-serializable`, field);
  }
  if (Buffer.byteLength(serialized) > MAX_OBJECT_BYTES) {
    throw new InvalidRequestError(`${field} must serialize to at most ${MAX_OBJECT_BYTES} bytes`, field);
  }
  return JSON.parse(serialized) as JsonObject;
}

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

export function assertId(value: unknown, field: 'connectionId' | 'providerConfigKey'): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidRequestError(`${field} must be a non-empty string`, field);
  }
  if (value.length > MAX_ID_LENGTH) {
    throw new InvalidRequestError(`${field} must be at most ${MAX_ID_LENGTH} characters`, field);
  }
  if (CONTROL_CHARACTERS.test(value)) {
    throw new InvalidRequestError(`${field} must not contain control characters`, field);
  }
  return value;
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

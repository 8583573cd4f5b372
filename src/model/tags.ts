import { InvalidRequestError } from './errors.js';
import { isPlainObject } from './json.js';

const MAX_TAGS = 10;
const MAX_KEY_LENGTH = 64;
const MAX_VALUE_LENGTH = 255;
const TAG_KEY = /^[a-zA-Z][a-zA-Z0-9_\-./]*$/;
// Zod's `email()` (4.x), which Nango's tags schema applies to `end_user_email`.
const EMAIL = /^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9-]*\.)+[A-Za-z]{2,}$/;

/**
 * Validates tags as Nango does (its tags schema, packages/shared/lib/services/tags/schema.ts) and
 * returns them with lower-cased keys: at most 10; a key starts with a letter, then letters, digits
 * or `_-./`, at most 64 characters; two keys equal after lower-casing are refused rather than
 * silently merged; values are strings of 1–255 characters; `end_user_email` (in any case) is an
 * email address: ASCII, a dot-separated domain ending in two or more letters.
 */
export function normalizeTags(input: unknown): Record<string, string> {
  if (!isPlainObject(input)) {
    throw new InvalidRequestError('tags must be an object of string values', 'tags');
  }
  const entries = Object.entries(input);
  if (entries.length > MAX_TAGS) {
    throw new InvalidRequestError(`at most ${MAX_TAGS} tags are allowed`, 'tags');
  }
  const tags: Record<string, string> = {};
  for (const [key, value] of entries) {
    if (key.length > MAX_KEY_LENGTH || !TAG_KEY.test(key)) {
      throw new InvalidRequestError(
        `tag key ${quoted(key)} is not allowed: a key starts with a letter, contains only letters, digits, _ - . /, and is at most ${MAX_KEY_LENGTH} characters`,
        'tags',
      );
    }
    const normalized = key.toLowerCase();
    if (Object.hasOwn(tags, normalized)) {
      throw new InvalidRequestError(`two tag keys collide once lower-cased: "${normalized}"`, `tags.${normalized}`);
    }
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_VALUE_LENGTH) {
      throw new InvalidRequestError(
        `tag "${normalized}" must be a string of 1 to ${MAX_VALUE_LENGTH} characters (got ${describe(value)})`,
        `tags.${normalized}`,
      );
    }
    if (normalized === 'end_user_email' && !EMAIL.test(value)) {
      throw new InvalidRequestError(
        `tag end_user_email must be an email address such as user@example.com`,
        `tags.${normalized}`,
      );
    }
    tags[normalized] = value;
  }
  return tags;
}

/** A tag key for a message: quoted, control characters escaped, long keys cut. */
function quoted(key: string): string {
  const shown = key.length > 80 ? `${key.slice(0, 80)}…` : key;
  return JSON.stringify(shown);
}

/** What a refused tag value was, without quoting it (a value may be anything the caller passed). */
function describe(value: unknown): string {
  if (typeof value === 'string') return value.length === 0 ? 'an empty string' : `${value.length} characters`;
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

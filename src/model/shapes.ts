/**
 * Schemas of the shapes that several boundaries share — the HTTP API's bodies, the manager's
 * inputs and options, stored records — so each is written once. Plain types stay in their own
 * files (connection.ts, inputs.ts); these check that a value really has them.
 */
import * as v from 'valibot';
import type { EndUser, JsonObject } from './connection.js';
import { isPlainObject } from './json.js';
import { MAX_ID_LENGTH } from './validation.js';

/** A JSON object: not an array, not null. Sizes and serializability are checked where it is stored. */
export const JsonObjectSchema = v.custom<JsonObject>(isPlainObject, 'must be a JSON object');

/** A string of 1–255 characters: ids, keys, names. */
export const IdSchema = v.pipe(
  v.string(),
  v.minLength(1, 'must not be empty'),
  v.maxLength(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`),
);

/** Tags as sent: string values by key. Their finer rules (count, key syntax, email) are `normalizeTags`'s. */
export const TagsSchema = v.record(v.string(), v.string());

/** Text an end user carries: a string, or null for "none". */
const OptionalText = v.optional(v.nullable(v.pipe(v.string(), v.maxLength(1024, 'must be at most 1024 characters'))));

/**
 * Nango's end user (`end_user` on a connection): an `id`, optionally an email, a display name,
 * tags and an organization. The store indexes `id` and `email` for listing and search, so a
 * non-string there would break every listing that compares it: refused here.
 */
export const EndUserSchema: v.GenericSchema<unknown, EndUser> = v.looseObject({
  id: IdSchema,
  email: OptionalText,
  display_name: OptionalText,
  tags: v.optional(TagsSchema),
  organization: v.optional(
    v.nullable(
      v.looseObject({
        id: IdSchema,
        display_name: OptionalText,
      }),
    ),
  ),
});

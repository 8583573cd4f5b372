/**
 * The schema of a definition's lifecycle fields (`revocation`, `introspection`,
 * `refreshTokenIdleLifetimeDays`), checked when a manager is built: a custom or imported
 * provider that declares one wrongly is refused then, naming the field, not when a delete runs.
 */
import * as v from 'valibot';

const Url = v.pipe(v.string('must be a string'), v.nonEmpty('must not be empty'));

export const RevocationSpecSchema = v.strictObject({
  url: Url,
  method: v.optional(v.picklist(['POST', 'DELETE', 'GET'], "must be 'POST', 'DELETE' or 'GET'")),
  auth: v.optional(
    v.picklist(
      ['client_secret_basic', 'client_secret_post', 'bearer', 'none'],
      "must be 'client_secret_basic', 'client_secret_post', 'bearer' or 'none'",
    ),
  ),
  bodyFormat: v.optional(v.picklist(['form', 'json', 'query', 'none'], "must be 'form', 'json', 'query' or 'none'")),
  tokenParam: v.optional(v.pipe(v.string(), v.regex(/^[\w.-]{1,64}$/, 'must be a parameter name'))),
  tokens: v.optional(v.picklist(['refresh', 'access', 'both'], "must be 'refresh', 'access' or 'both'")),
  tokenTypeHint: v.optional(v.boolean('must be true or false')),
  okStatuses: v.optional(
    v.array(v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(599, 'must be HTTP statuses'))),
  ),
});

export const IntrospectionSpecSchema = v.strictObject({
  url: Url,
  auth: v.optional(
    v.picklist(['client_secret_basic', 'client_secret_post'], "must be 'client_secret_basic' or 'client_secret_post'"),
  ),
});

export const IdleLifetimeDaysSchema = v.pipe(
  v.number('must be a number of days'),
  v.finite('must be a finite number of days'),
  v.gtValue(0, 'must be a positive number of days'),
);

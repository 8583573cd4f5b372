/**
 * The HTTP API's inputs as schemas: every body and query a route reads is checked by one of these
 * before anything runs, and the OpenAPI document (openapi.ts) is derived from the same objects.
 * Query values arrive as strings, so numbers and booleans are read from text here.
 */
import * as v from 'valibot';
import { EndUserSchema, IdSchema, JsonObjectSchema, TagsSchema } from '../model/shapes.js';

/** Nango's list limit (raised to 2,000 in its PRs #5233/#5334). */
export const MAX_LIST_LIMIT = 2000;
/** Connections per answer of `GET /connections` when no `limit` is given. */
export const DEFAULT_LIST_LIMIT = 100;
/** The deepest `page` served (0-based). */
export const MAX_PAGE_NUMBER = 1000;
/**
 * Rows a `page` may skip (`page × limit`): Nango's page numbers are walked with the store's
 * cursors, so this bounds the work one request can ask for. Deeper, follow `next_cursor`.
 */
export const MAX_PAGE_OFFSET = 20_000;

/**
 * A per-connection webhook URL: absolute `http:` or `https:`, at most 2,048 characters, without a
 * user or password (the signature authenticates the sender; a password in a URL ends up in logs).
 */
function WebhookUrl() {
  return v.pipe(
    v.string(),
    v.maxLength(2048, 'is too long'),
    v.check((value) => {
      if (!URL.canParse(value)) return false;
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
    }, 'must be an absolute http: or https: URL without a user or password'),
  );
}

/** A query value that names a thing: 1–255 characters. */
const QueryText = IdSchema;

function wholeNumber(min: number, max: number) {
  const message = `must be a whole number from ${min} to ${max}`;
  return v.pipe(
    v.string(),
    v.regex(/^\d{1,9}$/, message),
    v.transform(Number),
    v.number(),
    v.minValue(min, message),
    v.maxValue(max, message),
  );
}

/** `true`/`false` (and `1`/`0`), as Nango's clients send them. */
const QueryBoolean = v.pipe(
  v.picklist(['true', 'false', '1', '0'], 'must be true or false'),
  v.transform((value) => value === 'true' || value === '1'),
  v.boolean(),
);

/** `GET /connections/:connectionId`. */
export const GetConnectionQuery = v.object({
  provider_config_key: QueryText,
  force_refresh: v.optional(QueryBoolean),
  refresh_token: v.optional(QueryBoolean),
  /** Accepted and ignored: GitHub App JWTs are minted fresh on every get. */
  refresh_github_app_jwt_token: v.optional(QueryBoolean),
});

/** Routes on one connection that need its integration: `DELETE`, `PATCH`. */
export const ConnectionRefQuery = v.object({ provider_config_key: QueryText });

/** `DELETE /connections/:connectionId`: `revoke=false` leaves the grant alive at the provider. */
export const DeleteConnectionQuery = v.object({ provider_config_key: QueryText, revoke: v.optional(QueryBoolean) });

/** The older metadata routes: the key in the `Provider-Config-Key` header, or here. */
export const OptionalRefQuery = v.object({ provider_config_key: v.optional(QueryText) });

/**
 * `GET /connections`: Nango's names (`connectionId`, `integrationId` comma-separated,
 * `tags[key]=value`, `endUserId`, `endUserOrganizationId`, `search`, `limit`, `page`, 0-based)
 * and `cursor` for Latchkey's paged listing, `expiring` for refresh tokens about to lapse.
 */
export const ListConnectionsQuery = v.object({
  connectionId: v.optional(QueryText),
  connection_id: v.optional(QueryText),
  integrationId: v.optional(v.pipe(v.string(), v.maxLength(10_000, 'is too long'))),
  provider_config_key: v.optional(v.pipe(v.string(), v.maxLength(10_000, 'is too long'))),
  tags: v.optional(TagsSchema),
  endUserId: v.optional(QueryText),
  endUserOrganizationId: v.optional(QueryText),
  search: v.optional(QueryText),
  cursor: v.optional(QueryText),
  limit: v.optional(wholeNumber(1, MAX_LIST_LIMIT)),
  page: v.optional(wholeNumber(0, MAX_PAGE_NUMBER)),
  /** Latchkey's own (Nango has none): only connections whose refresh token lapses soon, as `list({ expiring })`. */
  expiring: v.optional(QueryBoolean),
});

/** `POST /connections`: a connection as Nango's import takes it. Fields it does not know are ignored, as Nango's clients send more. */
export const CreateConnectionBody = v.object({
  connection_id: v.optional(IdSchema),
  provider_config_key: IdSchema,
  credentials: JsonObjectSchema,
  connection_config: v.optional(JsonObjectSchema),
  metadata: v.optional(v.nullable(JsonObjectSchema)),
  tags: v.optional(TagsSchema),
  end_user: v.optional(v.nullable(EndUserSchema)),
  webhook_url_override: v.optional(v.union([v.literal(''), WebhookUrl()])),
});

/** Nango's GitHub App import: `credentials: { type: 'APP', app_id, installation_id }`. */
export const GithubAppImport = v.strictObject({
  type: v.literal('APP'),
  app_id: v.pipe(v.string(), v.minLength(1, 'must not be empty'), v.maxLength(255, 'is too long')),
  installation_id: v.pipe(
    v.union([v.string(), v.pipe(v.number(), v.integer(), v.transform(String))], 'must be a string'),
    v.string(),
    v.regex(/^\d{1,20}$/, 'must be a GitHub installation id (digits)'),
  ),
});

/**
 * `PATCH /connections/:connectionId`: Nango's fields (`tags`, `end_user`, `webhook_url_override`,
 * an empty string clearing it); any other field is refused.
 */
export const PatchConnectionBody = v.strictObject({
  tags: v.optional(TagsSchema),
  end_user: v.optional(EndUserSchema),
  webhook_url_override: v.optional(v.union([v.literal(''), WebhookUrl()], 'must be an http: or https: URL, or empty')),
});

/** `POST`/`PATCH /connections/metadata`. */
export const BulkMetadataBody = v.object({
  connection_id: v.union(
    [
      IdSchema,
      v.pipe(
        v.array(IdSchema),
        v.minLength(1, 'must name 1 to 1000 connections'),
        v.maxLength(1000, 'must name 1 to 1000 connections'),
      ),
    ],
    'must be a connection id or an array of 1 to 1000 of them',
  ),
  provider_config_key: IdSchema,
  metadata: JsonObjectSchema,
});

/** `POST`/`PATCH /connection/:connectionId/metadata`: the body is the metadata. */
export const MetadataBody = JsonObjectSchema;

/** Routes that take no query parameter (Nango's `requireEmptyQuery`): any parameter is refused. */
export const EmptyQuery = v.strictObject({});

/** One value of `GET /integrations/:uniqueKey?include=`. */
export const IntegrationIncludeValue = v.picklist(['webhook', 'credentials']);

/** `GET /integrations/:uniqueKey`: `include` (comma-separated or repeated), read by the route. */
export const GetIntegrationQuery = v.strictObject({ include: v.optional(v.string()) });

/** `GET /providers`: `search`, a part of the provider's name. */
export const ProvidersQuery = v.strictObject({ search: v.optional(QueryText) });

/**
 * The connect-session bodies as schemas, as strict as Nango's zod schemas: an unknown field is
 * refused, not ignored.
 */
import * as v from 'valibot';
import { IdSchema, JsonObjectSchema } from './shapes.js';

// Nango's provider config key rule (letters, digits and `~:.@ _-`, at most 255).
const IntegrationKey = v.pipe(IdSchema, v.regex(/^[a-zA-Z0-9~:.@ _-]+$/, 'must be an integration key'));
const ShortText = v.pipe(v.string(), v.maxLength(255, 'must be at most 255 characters'));

const SessionEndUser = v.strictObject({
  id: IdSchema,
  email: v.optional(
    v.pipe(v.string(), v.minLength(5, 'must be an email address'), v.email('must be an email address')),
  ),
  display_name: v.optional(ShortText),
  tags: v.optional(v.record(v.string(), ShortText)),
});

const Organization = v.strictObject({ id: ShortText, display_name: v.optional(ShortText) });

const ConfigDefaults = v.record(
  IntegrationKey,
  v.strictObject({
    user_scopes: v.optional(v.string()),
    authorization_params: v.optional(v.record(v.string(), v.string())),
    connection_config: v.optional(JsonObjectSchema),
  }),
);

const Overrides = v.record(IntegrationKey, v.strictObject({ docs_connect: v.optional(v.string()) }));

/** An absolute http(s) URL, or `''` for none (as Nango takes it). */
const WebhookUrl = v.union(
  [v.literal(''), v.pipe(v.string(), v.url('must be a URL'), v.regex(/^https?:\/\//i, 'must be an http(s) URL'))],
  'must be an http(s) URL',
);

const Tags = v.record(v.string(), v.string());

const common = {
  organization: v.optional(Organization),
  integrations_config_defaults: v.optional(ConfigDefaults),
  overrides: v.optional(Overrides),
  webhook_url_override: v.optional(WebhookUrl),
  tags: v.optional(Tags),
};

/** `POST /connect/sessions`: an `end_user`, or `tags` alone (Nango accepts either). */
export const ConnectSessionBody = v.pipe(
  v.strictObject({
    end_user: v.optional(SessionEndUser),
    allowed_integrations: v.optional(v.array(IntegrationKey)),
    ...common,
  }),
  v.forward(
    v.check((body) => body.end_user !== undefined || body.tags !== undefined, 'is required unless tags are given'),
    ['end_user'],
  ),
);

/** `POST /connect/sessions/reconnect`: one existing connection, which the session may only replace. */
export const ReconnectSessionBody = v.strictObject({
  connection_id: IdSchema,
  integration_id: IntegrationKey,
  end_user: v.optional(SessionEndUser),
  ...common,
});

/** The stored form of a {@link ConnectSession}, checked on every read. */
export const StoredConnectSessionSchema = v.looseObject({
  endUser: v.nullable(JsonObjectSchema),
  tags: v.record(v.string(), v.string()),
  allowedIntegrations: v.optional(v.array(v.string())),
  integrationsConfigDefaults: v.optional(v.record(v.string(), JsonObjectSchema)),
  overrides: v.optional(v.record(v.string(), JsonObjectSchema)),
  webhookUrlOverride: v.optional(v.string()),
  reconnect: v.optional(v.object({ connectionId: v.string(), providerConfigKey: v.string() })),
  createdAt: v.number(),
  expiresAt: v.number(),
});

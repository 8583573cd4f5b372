/**
 * The configuration file's shape as a schema: every field, its type and what is wrong with it,
 * checked after the environment is applied (env.ts). The manager's own options reuse the
 * manager's schema (operations/options-schema.ts), so the file and `new ConnectionManager` agree.
 * `store` is only a non-empty string (or the older `{ type, … }` object) here; which stores exist
 * is the store resolver's business (store.ts).
 */
import * as v from 'valibot';
import { API_SCOPES, type ApiKey, type ApiScope } from '../../api/access.js';
import type { ConnectHandlerOptions } from '../../http.js';
import { InvalidRequestError } from '../../model/errors.js';
import { parseInput } from '../../model/schema.js';
import { isPlainObject } from '../../model/json.js';
import type { BackgroundRefreshOptions } from '../../operations/background-refresh.js';
import { ManagerOptionsSchema } from '../../operations/options-schema.js';
import type { ConnectionManagerOptions } from '../../operations/options.js';
import type { WebhookOptions } from '../../webhooks/sender.js';
import { ConfigError } from './error.js';

const NonEmpty = v.pipe(v.string(), v.minLength(1, 'must not be empty'));
const WholeMs = v.pipe(
  v.number(),
  v.integer('must be a whole number of milliseconds'),
  v.minValue(0, 'must not be negative'),
);

const ApiKeySchema = v.object({
  key: NonEmpty,
  scopes: v.optional(
    v.custom<ApiScope[]>(
      (scopes) => Array.isArray(scopes) && scopes.every((scope) => (API_SCOPES as readonly unknown[]).includes(scope)),
      `must list scopes among ${API_SCOPES.join(', ')}`,
    ),
  ),
  name: v.optional(v.string()),
});

/** The connect handler's options: checked as a whole, since `authorizeConnection` is a function (a `.js` config). */
const ConnectSchema = v.custom<Omit<ConnectHandlerOptions, 'manager' | 'logger'>>(
  (value) =>
    isPlainObject(value) &&
    typeof value.callbackUrl === 'string' &&
    Array.isArray(value.allowedRedirectUrls) &&
    typeof value.authorizeConnection === 'function',
  'needs callbackUrl, allowedRedirectUrls and an authorizeConnection function (a .js config)',
);

/** Webhooks need a url and a secret (the secret may come from `LATCHKEY_WEBHOOK_SECRET`, applied before this check). */
const WebhooksSchema = v.custom<WebhookOptions>(
  (value) =>
    isPlainObject(value) && typeof value.url === 'string' && typeof value.secret === 'string' && value.secret !== '',
  'needs a url, and a secret (or LATCHKEY_WEBHOOK_SECRET)',
);

const manager = ManagerOptionsSchema.entries;

/** The file, with the environment applied. Every field is optional. */
export const ConfigFileSchema = v.strictObject({
  /** `memory`, `sqlite:<path>`, `postgres://…` (or the older `{ type, … }` object). Env: `LATCHKEY_STORE`. */
  store: v.optional(
    v.union([NonEmpty, v.looseObject({ type: v.string() })], 'must be a store URL such as sqlite:latchkey.db'),
  ),
  integrations: manager.integrations,
  providers: manager.providers,
  /** One key or a ring (first encrypts). Env: `LATCHKEY_ENCRYPTION_KEY` (comma-separated). */
  encryptionKey: v.optional(v.union([NonEmpty, v.array(NonEmpty)], 'must be a string or an array of strings')),
  requireEncryption: v.optional(v.boolean()),
  refreshMarginSeconds: manager.refreshMarginSeconds,
  failurePolicy: manager.failurePolicy,
  lock: manager.lock,
  http: manager.http,
  rateLimits: manager.rateLimits,
  keepAlive: manager.keepAlive,
  audit: manager.audit,
  /** Whether deleting a connection revokes its grant at the provider (default true). */
  revokeOnDelete: manager.revokeOnDelete,
  /** How far ahead a refresh token's end is announced as `connection.expiring` (default 7 days). */
  expiringWithinMs: manager.expiringWithinMs,
  /** Env: `LATCHKEY_API_KEYS` (comma-separated, full access). */
  apiKeys: v.optional(v.array(ApiKeySchema)),
  allowNoKeysOnLoopback: v.optional(v.boolean()),
  connect: v.optional(ConnectSchema),
  /**
   * App origins (`https://app.example.com`) whose pages may frame the Connect UI, open the connect
   * WebSocket and call the session routes with CORS. Empty or absent: this server's own host only.
   */
  /**
   * Where browsers and providers reach this server (`https://latchkey.example.com`). With it,
   * flows started with a connect session are served without a `connect` block: the callback is
   * `<publicUrl><basePath>/oauth/callback`.
   */
  publicUrl: v.optional(
    v.pipe(
      v.string(),
      v.check(
        (value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol),
        'must be an absolute http(s) URL such as https://latchkey.example.com',
      ),
    ),
  ),
  allowedOrigins: v.optional(
    v.array(
      v.pipe(
        v.string(),
        v.check(
          (entry) =>
            URL.canParse(entry) &&
            /^https?:$/.test(new URL(entry).protocol) &&
            new URL(entry).origin === entry.replace(/\/$/, ''),
          'must be an origin such as https://app.example.com (no path, no wildcard)',
        ),
      ),
    ),
  ),
  backgroundRefresh: v.optional(
    v.union([v.boolean(), v.custom<BackgroundRefreshOptions>(isPlainObject)], 'must be true or an object of options'),
  ),
  webhooks: v.optional(WebhooksSchema),
  server: v.optional(
    v.strictObject({
      host: v.optional(NonEmpty),
      port: v.optional(
        v.pipe(
          v.number(),
          v.integer('must be a port number (0 picks a free one)'),
          v.minValue(0, 'must be a port number (0 picks a free one)'),
          v.maxValue(65535, 'must be a port number (0 picks a free one)'),
        ),
      ),
      basePath: v.optional(v.string()),
      /** Where the operator's console is served (default `/console/`); `false` turns it off. */
      consolePath: v.optional(
        v.union(
          [v.pipe(v.string(), v.regex(/^\/([A-Za-z0-9._~-]+\/?)*$/)), v.literal(false)],
          'must be a path such as /console/, or false',
        ),
      ),
      maxBodyBytes: v.optional(
        v.pipe(v.number(), v.integer('must be a whole number of bytes'), v.minValue(1, 'must be at least 1')),
      ),
      shutdownTimeoutMs: v.optional(WholeMs),
      /** Where the Connect UI is served (default `/connect-ui`); `false`: not served. */
      connectUiPath: v.optional(
        v.union([v.pipe(v.string(), v.regex(/^\/[^?#\s]*$/, 'must be a path starting with /')), v.literal(false)]),
      ),
    }),
  ),
});

export type ConfigFile = v.InferOutput<typeof ConfigFileSchema>;

/** The file checked; a {@link ConfigError} naming the field (`server.port`, `apiKeys[0].scopes`) otherwise. */
export function checkConfigFile(value: unknown): ConfigFile {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError('the configuration must be an object', 'config');
  }
  try {
    return parseInput(ConfigFileSchema, value);
  } catch (error) {
    if (!(error instanceof InvalidRequestError)) throw error;
    throw new ConfigError(error.message, error.field);
  }
}

/** The manager options a checked file gives (integrations are checked again, deeply, by the manager). */
export function managerOptionsOf(file: ConfigFile): Omit<ConnectionManagerOptions, 'store' | 'logger'> {
  const options: Omit<ConnectionManagerOptions, 'store' | 'logger'> = {
    integrations: file.integrations ?? {},
    requireEncryption: file.requireEncryption !== false,
  };
  if (file.encryptionKey !== undefined) options.encryptionKey = file.encryptionKey;
  if (file.providers !== undefined) options.providers = file.providers;
  if (file.refreshMarginSeconds !== undefined) options.refreshMarginSeconds = file.refreshMarginSeconds;
  if (file.failurePolicy !== undefined) options.failurePolicy = file.failurePolicy;
  if (file.lock !== undefined) options.lock = file.lock;
  if (file.http !== undefined) options.http = file.http;
  if (file.rateLimits !== undefined) options.rateLimits = file.rateLimits;
  if (file.keepAlive !== undefined) options.keepAlive = file.keepAlive;
  if (file.audit !== undefined) options.audit = file.audit;
  if (file.revokeOnDelete !== undefined) options.revokeOnDelete = file.revokeOnDelete;
  if (file.expiringWithinMs !== undefined) options.expiringWithinMs = file.expiringWithinMs;
  return options;
}

export type { ApiKey };

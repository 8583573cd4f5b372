import { connectCredentials, type ConnectorHost } from './connect/connector.js';
import type { ConnectionFull, ConnectionListItem, JsonObject } from './model/connection.js';
import type { ConnectionEventListener, ConnectionEventName } from './model/events.js';
import type {
  AuthorizeInput,
  CallbackOptions,
  ConnectionRef,
  CreateConnectionInput,
  GetConnectionOptions,
  ConnectionListPage,
  ListConnectionsFilter,
} from './model/inputs.js';
import { InvalidRequestError } from './model/errors.js';
import type { SignableRequest } from './modes/strategy.js';
import {
  type BackgroundRefresh,
  type BackgroundRefreshOptions,
  startBackgroundRefresh,
} from './operations/background-refresh.js';
import { authorize } from './operations/authorize.js';
import { connectorHost } from './operations/connect.js';
import { createContext, type OperationContext } from './operations/context.js';
import { createConnection, upsertConnection } from './operations/create.js';
import { deleteConnection } from './operations/delete.js';
import { type ConnectionDescription, describeConnection, describeIntegrations } from './operations/describe.js';
import { proxyFetch } from './operations/fetch.js';
import { getConnection } from './operations/get.js';
import { handleCallback } from './operations/handle-callback.js';
import { listConnections } from './operations/list.js';
import { connectionChanges, type ConnectionUpdate, modifyConnection } from './operations/modify.js';
import type { ConnectionManagerOptions } from './operations/options.js';
import { rotateEncryptionKey, type RotateEncryptionKeyOptions } from './operations/rotate-encryption-key.js';
import { signRequest } from './operations/sign-request.js';
import type { IntegrationDescription } from './providers/definition.js';
import type { ProxyInit } from './proxy/proxy-request.js';
import { startWebhooks, type WebhookOptions, type WebhookSender } from './webhooks/sender.js';

/**
 * Holds an app's connections to third-party APIs and hands back working credentials, refreshing
 * them first when they are about to expire.
 *
 * @example
 * ```ts
 * const manager = new ConnectionManager({
 *   integrations: { 'github-prod': { provider: 'github', clientId, clientSecret } },
 * });
 * await manager.create({ connectionId: 'user-42', providerConfigKey: 'github-prod',
 *   credentials: { type: 'OAUTH2', access_token, refresh_token, expires_at } });
 * const { credentials } = await manager.get('user-42');
 * ```
 */
export class ConnectionManager {
  // Private state, as openid-client keeps its own: nothing here is part of the public API.
  readonly #ctx: OperationContext;
  /** The slice of the context the connect operations take. */
  readonly #connector: ConnectorHost;
  #background: BackgroundRefresh | undefined;
  #webhooks: WebhookSender | undefined;

  /**
   * Checks the options and assembles the storage stack, encryption, integrations and refresher.
   * Bad options throw a typed error naming the option.
   */
  constructor(options: ConnectionManagerOptions = {}) {
    this.#ctx = createContext(options);
    this.#connector = connectorHost(this.#ctx);
  }

  /**
   * Stores a new connection. Throws {@link DuplicateConnectionError} if it exists already;
   * bad input throws a typed error and stores nothing.
   *
   * @example
   * ```ts
   * await manager.create({ connectionId: 'user-42', providerConfigKey: 'hubspot',
   *   credentials: { type: 'OAUTH2', access_token, refresh_token, expires_in: 1800 } });
   * ```
   */
  async create(input: CreateConnectionInput): Promise<ConnectionFull> {
    return createConnection(this.#ctx, input);
  }

  /**
   * Creates the connection, or replaces the credentials (and whichever of config, metadata, tags
   * and end user are given) of an existing one, keeping its id and creation time. Replacing
   * credentials clears any refresh failure, back-off or exhaustion.
   *
   * @example
   * ```ts
   * // The user reconnected: new tokens, same connection.
   * await manager.upsert({ connectionId: 'user-42', providerConfigKey: 'github-prod',
   *   credentials: { type: 'OAUTH2', access_token, refresh_token, expires_in: 28800 } });
   * ```
   */
  async upsert(input: CreateConnectionInput): Promise<ConnectionFull> {
    return upsertConnection(this.#ctx, input);
  }

  /**
   * Stores credentials a user submitted (an API key, a password, a private key…) after proving
   * they work: modes that mint (JWT, BILL, TWO_STEP, SIGNATURE, OAUTH2_CC, APP) mint once, and
   * when the provider definition gives a `verification` request it is made with them. Refused
   * credentials throw {@link AuthorizationError} and nothing is stored; accepted ones are upserted.
   *
   * @example
   * ```ts
   * await manager.connect({ connectionId: 'acct-7', providerConfigKey: 'openai', credentials: { type: 'API_KEY', apiKey } });
   * ```
   */
  async connect(input: CreateConnectionInput): Promise<ConnectionFull> {
    return connectCredentials(this.#connector, input);
  }

  /**
   * The connection with working credentials: refreshed first when they expire within the margin,
   * or when `forceRefresh` is set. Refresh tokens are left out unless `refreshToken: true`.
   *
   * Throws {@link AccessTokenExpiredError} for an expired token that cannot be refreshed,
   * {@link RefreshBackoffError} while recent failures back off (only if the token has expired:
   * a still-valid token is returned), {@link RefreshExhaustedError} once the grant is dead, and
   * `ProviderError` when the provider refuses a refresh the caller needed.
   *
   * @example
   * ```ts
   * const conn = await manager.get('user-42');
   * const forced = await manager.get('user-42', true);
   * const withRefreshToken = await manager.get('user-42', { providerConfigKey: 'github-prod', refreshToken: true });
   * ```
   */
  async get(connectionId: string, options: boolean | GetConnectionOptions = {}): Promise<ConnectionFull> {
    return getConnection(this.#ctx, connectionId, options);
  }

  /**
   * Headers that authenticate one request with the connection's (fresh) credentials, for modes
   * that sign each request: OAuth 1.0 and NetSuite TBA (`Authorization: OAuth …`) and WSSE (`X-WSSE`).
   *
   * @example
   * ```ts
   * const headers = await manager.signRequest('user-42', { method: 'GET', url: 'https://api.twitter.com/1.1/account/verify_credentials.json' });
   * await fetch(url, { headers });
   * ```
   */
  async signRequest(ref: ConnectionRef, request: SignableRequest): Promise<Record<string, string>> {
    return signRequest(this.#ctx, ref, request);
  }

  /**
   * Calls the provider's API for a connection, like Nango's proxy but in-process: resolves the
   * provider's base URL and fixed headers, injects fresh credentials the way that provider takes
   * them, and on a 401 forces one refresh and retries once. `path` is relative to the base URL.
   * Redirects are not followed unless `init.redirect` says so (credential headers must not travel
   * to another host).
   *
   * @example
   * ```ts
   * const response = await manager.fetch('user-42', '/crm/v3/objects/contacts?limit=10');
   * const contacts = await response.json();
   * ```
   */
  async fetch(ref: ConnectionRef, path: string, init: ProxyInit = {}): Promise<Response> {
    return proxyFetch(this.#ctx, ref, path, init);
  }

  /**
   * Listens for connection events: created (or overridden), refreshed, refresh failed, refresh
   * exhausted, recovered, credentials invalid or valid again (health checks), deleted, and the
   * background refresher's `refresh.tick` — so an app can alert a user to reconnect. Payloads
   * hold no secret.
   *
   * @example
   * ```ts
   * manager.on('refresh.exhausted', ({ connectionId, providerConfigKey }) => notifyUserToReconnect(connectionId, providerConfigKey));
   * ```
   */
  on<E extends ConnectionEventName>(name: E, listener: ConnectionEventListener<E>): this {
    this.#ctx.events.on(name, listener);
    return this;
  }

  /** Removes a listener added with {@link ConnectionManager.on}. */
  off<E extends ConnectionEventName>(name: E, listener: ConnectionEventListener<E>): this {
    this.#ctx.events.off(name, listener);
    return this;
  }

  /**
   * Starts a connect flow: returns the provider URL to send the user to. The flow's state (with
   * its PKCE verifier) is kept in the store for 10 minutes, for one callback.
   *
   * @example
   * ```ts
   * const { url } = await manager.authorize({ providerConfigKey: 'github-prod', connectionId: user.id,
   *   redirectUri: 'https://app.example.com/oauth/callback' });
   * ```
   */
  async authorize(input: AuthorizeInput): Promise<{ url: string; state: string }> {
    return authorize(this.#connector, input);
  }

  /**
   * Completes a connect flow from the provider's callback query: checks the state (known, unused,
   * unexpired), exchanges the code, and stores the connection (replacing an existing one's
   * credentials). Returns the connection and the `appState` given to `authorize`. Throws
   * {@link InvalidStateError} for a forged, replayed or stale state and {@link AuthorizationError}
   * when the user denied access or the exchange failed; nothing is stored then.
   *
   * @example
   * ```ts
   * // In your callback route:
   * const { connection, appState } = await manager.handleCallback(new URL(request.url).searchParams);
   * redirect(String(appState?.returnTo ?? '/'));
   * ```
   */
  async handleCallback(
    query: URLSearchParams | Record<string, string>,
    options: CallbackOptions = {},
  ): Promise<{ connection: ConnectionFull; appState: JsonObject | undefined }> {
    return handleCallback(this.#connector, query, options);
  }

  /**
   * Connections without credentials, never refreshed (Nango's list shape), in creation order.
   * Filters and pages are evaluated by the store; with `limit`, one page and a `nextCursor` while
   * more match.
   *
   * @example
   * ```ts
   * const { connections } = await manager.list({ providerConfigKey: 'hubspot-prod', tags: { plan: 'pro' } });
   * let page = await manager.list({ providerConfigKeys: ['github', 'slack'], limit: 100 });
   * while (page.nextCursor) page = await manager.list({ providerConfigKeys: ['github', 'slack'], limit: 100, cursor: page.nextCursor });
   * ```
   */
  async list(filter: ListConnectionsFilter = {}): Promise<ConnectionListPage<ConnectionListItem>> {
    return listConnections(this.#ctx, filter);
  }

  /**
   * The connection as stored, without credentials and never refreshed (refresh tokens also left
   * out of `connection_config`). Throws {@link UnknownConnectionError} if there is none.
   *
   * @example
   * ```ts
   * const { errors, status } = await manager.describe({ connectionId: 'user-42', providerConfigKey: 'github-prod' });
   * ```
   */
  async describe(ref: ConnectionRef): Promise<ConnectionDescription> {
    return describeConnection(this.#ctx, ref);
  }

  /**
   * The integrations this manager was configured with, each with its provider's definition merged
   * in, in the order given. They carry their secrets (client secret, private key): this is the
   * app's own configuration.
   *
   * @example
   * ```ts
   * const keys = manager.integrations().map((integration) => integration.providerConfigKey);
   * ```
   */
  integrations(): IntegrationDescription[] {
    return describeIntegrations(this.#ctx);
  }

  /**
   * Deletes the connection. Throws {@link UnknownConnectionError} if there is none.
   *
   * @example
   * ```ts
   * await manager.delete({ connectionId: 'user-42', providerConfigKey: 'github-prod' });
   * ```
   */
  async delete(ref: ConnectionRef): Promise<void> {
    return deleteConnection(this.#ctx, ref);
  }

  /**
   * Replaces the connection's metadata.
   *
   * @example
   * ```ts
   * await manager.setMetadata('user-42', { workspace: 'acme', syncFrom: '2026-01-01' });
   * ```
   */
  async setMetadata(ref: ConnectionRef, metadata: JsonObject): Promise<void> {
    return modifyConnection(this.#ctx, ref, connectionChanges.setMetadata(metadata));
  }

  /**
   * Merges `metadata` into the connection's metadata (top-level keys).
   *
   * @example
   * ```ts
   * await manager.updateMetadata('user-42', { lastSyncedAt: new Date().toISOString() });
   * ```
   */
  async updateMetadata(ref: ConnectionRef, metadata: JsonObject): Promise<void> {
    return modifyConnection(this.#ctx, ref, connectionChanges.updateMetadata(metadata));
  }

  /**
   * Replaces the connection's tags (validated and lower-cased as Nango does).
   *
   * @example
   * ```ts
   * await manager.setTags('user-42', { plan: 'pro', region: 'eu' });
   * ```
   */
  async setTags(ref: ConnectionRef, tags: Record<string, string>): Promise<void> {
    return modifyConnection(this.#ctx, ref, connectionChanges.setTags(tags));
  }

  /**
   * Changes several fields in one write: `tags` replaced, `endUser` replaced (`null` removes it),
   * `webhookUrlOverride` set (`null` clears it): the started webhook sender delivers this
   * connection's webhooks there instead of its own URL.
   *
   * @example
   * ```ts
   * await manager.updateConnection('user-42', { endUser: { id: 'u-42' }, webhookUrlOverride: 'https://eu.example.com/hooks' });
   * ```
   */
  async updateConnection(ref: ConnectionRef, changes: ConnectionUpdate): Promise<void> {
    return modifyConnection(this.#ctx, ref, connectionChanges.update(changes));
  }

  /**
   * Merges `config` into the connection's `connection_config` (top-level keys).
   *
   * @example
   * ```ts
   * await manager.updateConnectionConfig('user-42', { subdomain: 'acme' });
   * ```
   */
  async updateConnectionConfig(ref: ConnectionRef, config: JsonObject): Promise<void> {
    return modifyConnection(this.#ctx, ref, connectionChanges.updateConnectionConfig(config, this.#ctx.integrations));
  }

  /**
   * Rewrites every connection sealed under an older key (or stored in the clear) under the
   * current key, `batchSize` at a time. Safe to stop and run again: records already under the
   * current key are skipped.
   *
   * @example
   * ```ts
   * const manager = new ConnectionManager({ store, encryptionKey: [process.env.NEW_KEY!, process.env.OLD_KEY!] });
   * const { rewritten } = await manager.rotateEncryptionKey();
   * ```
   */
  async rotateEncryptionKey(
    options: RotateEncryptionKeyOptions = {},
  ): Promise<{ rewritten: number; unchanged: number; contended: number }> {
    return rotateEncryptionKey(this.#ctx, options);
  }

  /**
   * Sends Nango-shaped auth webhooks to `url` on connection creation and override, refresh
   * failure (one per failed attempt; the one that exhausts the grant says `refresh_exhausted`) and
   * recovery, each body signed with HMAC-SHA256 under `secret` in `X-Nango-Hmac-Sha256`. Each
   * webhook is written to an outbox in the store before it is sent and deleted once the receiver
   * answers 2xx, retried with exponential back-off and jitter until then: a webhook survives a
   * restart, and processes sharing the store deliver each one once between them (at least once).
   * Bodies never hold a credential. Timers do not keep the process alive; `close()` stops it. One sender per manager: a second
   * call while one runs throws {@link InvalidRequestError}. See
   * `docs/webhooks.md`.
   *
   * @example
   * ```ts
   * manager.startWebhooks({ url: 'https://app.example.com/webhooks/latchkey', secret: process.env.WEBHOOK_SECRET! });
   * ```
   */
  startWebhooks(options: WebhookOptions): WebhookSender {
    if (this.#webhooks?.running) {
      throw new InvalidRequestError('webhooks are already being sent; stop the sender first', 'options');
    }
    this.#webhooks = startWebhooks(this.#ctx, options);
    return this.#webhooks;
  }

  /**
   * Starts refreshing and checking connections in the background, so that unused grants are not
   * revoked, `get` rarely waits for a token request, and refused keys are noticed before a user
   * needs them: every `intervalMs` (default 60 s), connections whose credentials enter the refresh
   * margin before the next pass, or were not refreshed for `keepAlive.refreshAfterMs` (default
   * 24 h), are refreshed with the same lock and compare-and-swap as `get` (safe in any number of
   * processes); credentials that do not expire are checked with their provider's verification
   * request every `keepAlive.healthCheckEveryMs`. Timers do not keep the process alive; `close()`
   * stops it. One refresher per manager: a second call throws {@link InvalidRequestError}.
   * See `docs/keeping-connections-alive.md`.
   *
   * @example
   * ```ts
   * const refresher = manager.startBackgroundRefresh({ intervalMs: 60_000, concurrency: 4 });
   * manager.on('refresh.tick', (tick) => metrics.gauge('latchkey.due', tick.due));
   * manager.on('refresh.exhausted', ({ connectionId }) => askUserToReconnect(connectionId));
   * // later: await refresher.stop();
   * ```
   */
  startBackgroundRefresh(options: BackgroundRefreshOptions = {}): BackgroundRefresh {
    if (this.#background?.stats().running) {
      throw new InvalidRequestError('the background refresher is already running; stop it first', 'options');
    }
    this.#background = startBackgroundRefresh(this.#ctx, options);
    return this.#background;
  }

  /**
   * Stops the background refresher (waiting for its pass in progress), waits for background
   * writes, then closes the store.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => manager.close());
   * ```
   */
  async close(): Promise<void> {
    await this.#background?.stop();
    await this.#webhooks?.stop();
    await this.#ctx.lastFetched.settle();
    await this.#ctx.pending.close();
    await this.#ctx.store.close();
  }
}

import type { ConnectorHost } from './connect/connector.js';
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
import { ConnectSessionApi } from './operations/connect-sessions.js';
import { createContext, type OperationContext } from './operations/context.js';
import { bindConsoleHost } from './operations/context-of.js';
import { createConnection, upsertConnection } from './operations/create.js';
import { deleteConnection, type DeleteOptions } from './operations/delete.js';
import {
  type ConnectionDescription,
  type DescribeOptions,
  describeConnection,
  describeIntegrations,
} from './operations/describe.js';
import type { ProxyFetch } from './operations/fetch.js';
import { getConnection } from './operations/get.js';
import { listConnections } from './operations/list.js';
import { connectionChanges, type ConnectionUpdate, modifyConnection } from './operations/modify.js';
import type { ConnectionManagerOptions } from './operations/options.js';
import type { RotateEncryptionKeyOptions } from './operations/rotate-encryption-key.js';
import { signRequest } from './operations/sign-request.js';
import { attachMcpClientState } from './operations/mcp-client-state.js';
import type { IntegrationDescription } from './providers/definition.js';
import type { ProxyInit } from './proxy/proxy-request.js';
import { closeWebhooks, startWebhooks, type WebhookOptions, type WebhookSender } from './webhooks/sender.js';

/**
 * Holds an app's connections to third-party APIs and hands back working credentials, refreshing
 * them first when they are about to expire.
 *
 * @example
 * ```ts
 * const manager = new ConnectionManager({
 *   integrations: { 'github-prod': { provider: 'github', clientId, clientSecret } },
 * });
 * const { credentials } = await manager.get('user-42');
 * ```
 */
export class ConnectionManager {
  // Private state, as openid-client keeps its own: nothing here is part of the public API.
  readonly #ctx: OperationContext;
  // Connect flows and the proxy load on first use: `import('latchkey')` stays small for `get`.
  #connector: ConnectorHost | undefined;
  #fetch: ProxyFetch | undefined;
  /** Nango's connect sessions as library calls (`create`, `reconnect`, `get`, `delete`). */
  readonly connectSessions: ConnectSessionApi;
  #background: BackgroundRefresh | undefined;
  #webhooks: WebhookSender | undefined;
  /** Checks the options (a bad one throws a typed error naming it) and assembles the stack. */
  constructor(options: ConnectionManagerOptions = {}) {
    this.#ctx = createContext(options);
    this.connectSessions = new ConnectSessionApi(this.#ctx);
    bindConsoleHost(this, this.#ctx);
    attachMcpClientState(this, this.#ctx);
  }

  /**
   * Stores a new connection; {@link DuplicateConnectionError} if it exists, a typed error on bad input.
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
   * Creates the connection, or replaces an existing one's credentials (and what else is given),
   * keeping its id; refresh failures, back-off and exhaustion are cleared.
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
   * Stores credentials a user submitted after proving they work (minted once where the mode mints,
   * checked with the provider's `verification` request); refused ones throw {@link AuthorizationError}.
   *
   * @example
   * ```ts
   * await manager.connect({ connectionId: 'acct-7', providerConfigKey: 'openai', credentials: { type: 'API_KEY', apiKey } });
   * ```
   */
  async connect(input: CreateConnectionInput): Promise<ConnectionFull> {
    const { connectCredentials } = await import('./operations/connect.js');
    return connectCredentials(await this.#connectorHost(), input);
  }

  /**
   * The connection with working credentials: refreshed first when they expire within the margin,
   * or when `forceRefresh` is set. Refresh tokens are left out unless `refreshToken: true`.
   *
   * Throws {@link AccessTokenExpiredError} (expired, not refreshable), {@link RefreshBackoffError}
   * (expired while failures back off), {@link RefreshExhaustedError} (the grant is dead), and
   * `ProviderError` when a refresh the caller needed failed.
   *
   * @example
   * ```ts
   * const conn = await manager.get('user-42');
   * const forced = await manager.get('user-42', true);
   * const withRefreshToken = await manager.get('user-42', { providerConfigKey: 'github-prod', refreshToken: true });
   * ```
   */
  get(connectionId: string, options: boolean | GetConnectionOptions = {}): Promise<ConnectionFull> {
    return getConnection(this.#ctx, connectionId, options);
  }

  /**
   * Headers that sign one request with fresh credentials (OAuth 1.0, NetSuite TBA, WSSE, AWS SigV4).
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
   * Calls the provider's API for a connection, like Nango's proxy in-process: `path` relative to
   * the provider's base URL, fresh credentials injected as that provider takes them, one forced
   * refresh and retry on a 401, redirects not followed unless `init.redirect` says so.
   *
   * @example
   * ```ts
   * const response = await manager.fetch('user-42', '/crm/v3/objects/contacts?limit=10');
   * const contacts = await response.json();
   * ```
   */
  async fetch(ref: ConnectionRef, path: string, init: ProxyInit = {}): Promise<Response> {
    this.#fetch ??= (await import('./operations/fetch.js')).proxyFetcher(this.#ctx);
    return this.#fetch(ref, path, init);
  }

  /**
   * Listens for connection events (the names of `ConnectionEvents`); payloads hold no secret.
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
   * Starts a connect flow: the provider URL to send the user to (state and PKCE kept 10 minutes).
   *
   * @example
   * ```ts
   * const { url } = await manager.authorize({ providerConfigKey: 'github-prod', connectionId: user.id,
   *   redirectUri: 'https://app.example.com/oauth/callback' });
   * ```
   */
  async authorize(input: AuthorizeInput): Promise<{ url: string; state: string }> {
    const { authorize } = await import('./operations/authorize.js');
    return authorize(await this.#connectorHost(), input);
  }

  /**
   * Completes a connect flow from the callback query: checks the state, exchanges the code, stores
   * the connection, and returns it with the `appState` given to `authorize`. Throws
   * {@link InvalidStateError} (forged, replayed, stale) or {@link AuthorizationError}; nothing stored.
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
    const { handleCallback } = await import('./operations/handle-callback.js');
    return handleCallback(await this.#connectorHost(), query, options);
  }

  /**
   * Connections without credentials, never refreshed (Nango's list shape), in creation order,
   * filtered and paged by the store; with `limit`, one page and a `nextCursor` while more match.
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
   * The connection as stored with its grant's `lifetime`, without credentials, never refreshed.
   *
   * @example
   * ```ts
   * const { status, lifetime } = await manager.describe({ connectionId: 'user-42', providerConfigKey: 'github-prod' });
   * ```
   */
  async describe(ref: ConnectionRef, options: DescribeOptions = {}): Promise<ConnectionDescription> {
    return describeConnection(this.#ctx, ref, options);
  }

  /**
   * The configured integrations, definitions merged in, in the order given (secrets included).
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
   * Deletes the connection ({@link UnknownConnectionError} if none), then revokes its grant at the
   * provider unless `revoke: false` (see `docs/lifecycle.md`).
   *
   * @example
   * ```ts
   * await manager.delete({ connectionId: 'user-42', providerConfigKey: 'github-prod' }, { revoke: false });
   * ```
   */
  async delete(ref: ConnectionRef, options: DeleteOptions = {}): Promise<void> {
    return deleteConnection(this.#ctx, ref, options);
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
   * Changes several fields in one write: `tags`, `endUser` (`null` removes it) and
   * `webhookUrlOverride`, where this connection's webhooks go (`null` clears it).
   *
   * @example
   * ```ts
   * await manager.updateConnection('user-42', { endUser: { id: 'u-42' }, webhookUrlOverride: 'https://eu.example.com/hooks' });
   * ```
   */
  async updateConnection(ref: ConnectionRef, changes: ConnectionUpdate): Promise<void> {
    return modifyConnection(this.#ctx, ref, connectionChanges.update(changes));
  }

  /** Merges `config` into the connection's `connection_config` (top-level keys), e.g. `{ subdomain: 'acme' }`. */
  async updateConnectionConfig(ref: ConnectionRef, config: JsonObject): Promise<void> {
    return modifyConnection(this.#ctx, ref, connectionChanges.updateConnectionConfig(config, this.#ctx.integrations));
  }

  /**
   * Rewrites every connection sealed under an older key (or in the clear) under the current key,
   * `batchSize` at a time; safe to stop and run again.
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
    const { rotateEncryptionKey } = await import('./operations/rotate-encryption-key.js');
    return rotateEncryptionKey(this.#ctx, options);
  }

  /**
   * Sends Nango-shaped auth webhooks, signed with `secret`, through an outbox in the store (at least
   * once, across restarts and processes). One per manager; `close()` stops it. See `docs/webhooks.md`.
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
   * Refreshes connections before they expire or idle out, checks those that do not expire, retries
   * queued revocations, every `intervalMs` (default 60 s), safe in any number of processes. One
   * per manager; `close()` stops it. See `docs/keeping-connections-alive.md`.
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

  async #connectorHost(): Promise<ConnectorHost> {
    this.#connector ??= (await import('./operations/connect.js')).connectorHost(this.#ctx);
    return this.#connector;
  }

  /**
   * Stops the background tasks, waits for refreshes and writes under way, then closes the store.
   * @example
   * ```ts
   * process.once('SIGTERM', () => manager.close());
   * ```
   */
  async close(): Promise<void> {
    // Webhooks of changes under way now are released before the store closes (see sender.ts).
    const closeSender = closeWebhooks(this.#webhooks);
    await this.#background?.stop();
    await this.#ctx.refresher.close(); // a refresh under way may have spent a rotating token: store its answer
    await this.#ctx.lastFetched.settle();
    await this.#ctx.audit.close();
    await this.#ctx.pending.close();
    await closeSender();
    await this.#ctx.store.close();
  }
}

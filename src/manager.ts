import { memoryStore } from '../adapters/memory.js';
import { type ConnectionRecord, healthy, subjectOf } from './model/record.js';
import { toConnectionFull, toListItem } from './modes/present.js';
import {
  AccessTokenExpiredError,
  DuplicateConnectionError,
  EncryptionRequiredError,
  InvalidCredentialsError,
  InvalidRequestError,
  ProviderError,
  RefreshBackoffError,
  RefreshExhaustedError,
  RefreshLockTimeoutError,
  UnknownConnectionError,
  UnknownIntegrationError,
} from './model/errors.js';
import { defaultHttpSettings, type HttpSettings } from './provider-http/http.js';
import type { ResolvedIntegration } from './providers/definition.js';
import { checkConnectionConfig, withCredentialDefaults } from './providers/connection-config.js';
import { fetchFor } from './provider-http/client-tls.js';
import { buildProxyRequest, type ProxyInit } from './proxy/proxy-request.js';
import { EventEmitter } from 'node:events';
import { authorize, completeCallback, connectCredentials, type ConnectorHost } from './connect/connector.js';
import { FlowStates } from './store/pending-flows.js';
import type { ConnectionEventListener, ConnectionEventName, ConnectionEvents } from './model/events.js';
import { resolveIntegrations } from './providers/integrations.js';
import { backingOffUntil, defaultFailurePolicy } from './refresh/failure-policy.js';
import { Refresher } from './refresh/refresher.js';
import type { StorageAdapter } from './store/adapter.js';
import { connectionKey } from './store/keys.js';
import { ConnectionDirectory } from './store/connection-directory.js';
import { ConnectionRecords, type StoredConnection } from './store/connection-records.js';
import { RecordCipher } from './store/record-cipher.js';
import { type Versioned, VersionedStore } from './store/versioned-store.js';
import { isAuthMode } from './model/auth-modes.js';
import type { Credentials } from './model/credentials.js';
import { strategyFor } from './modes/registry.js';
import { clientCertificateFor, type SignableRequest, type StrategyContext } from './modes/strategy.js';
import { normalizeTags } from './model/tags.js';
import type { Clock, ConnectionFull, ConnectionListItem, EndUser, JsonObject, Logger } from './model/connection.js';
import { assertId, assertJsonObject } from './model/validation.js';
import {
  type AuthorizeInput,
  type ConnectionManagerOptions,
  type ConnectionRef,
  consoleLogger,
  type CreateConnectionInput,
  type GetConnectionOptions,
  type ListConnectionsFilter,
  nonNegative,
  refParts,
} from './operations/options.js';

/** The plain-text warning is said once per process, not once per manager. */
let warnedPlaintext = false;

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
  readonly #store: StorageAdapter;
  readonly #records: VersionedStore;
  readonly #connections: ConnectionRecords;
  readonly #directory: ConnectionDirectory;
  readonly #cipher: RecordCipher | undefined;
  readonly #integrations: Map<string, ResolvedIntegration>;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #marginSeconds: number;
  readonly #http: HttpSettings;
  readonly #refresher: Refresher;
  readonly #fetchedWriteIntervalMs: number;
  readonly #fetchedWrittenAt = new Map<string, number>();
  readonly #pendingWrites = new Set<Promise<unknown>>();
  readonly #events = new EventEmitter();
  readonly #connector: ConnectorHost;

  constructor(options: ConnectionManagerOptions = {}) {
    this.#logger = options.logger ?? consoleLogger;
    this.#store = options.store ?? memoryStore();
    this.#records = new VersionedStore(this.#store);
    this.#cipher = this.#cipherFrom(options);
    this.#connections = new ConnectionRecords(this.#records, this.#cipher);
    this.#directory = new ConnectionDirectory(this.#records, this.#connections);
    this.#integrations = resolveIntegrations(options.integrations ?? {}, options.providers);
    this.#clock = options.clock ?? Date.now;
    this.#marginSeconds = nonNegative(options.refreshMarginSeconds ?? 900, 'refreshMarginSeconds');
    this.#http = { ...defaultHttpSettings, ...options.http };
    this.#fetchedWriteIntervalMs = nonNegative(
      options.lastFetchedWriteIntervalMs ?? 60_000,
      'lastFetchedWriteIntervalMs',
    );
    const leaseMs = nonNegative(options.lock?.leaseMs ?? 30_000, 'lock.leaseMs');
    if (this.#http.timeoutMs >= leaseMs) {
      // A token request that can outlast the lease would let a second process start a refresh.
      throw new InvalidRequestError('http.timeoutMs must be shorter than lock.leaseMs', 'http.timeoutMs');
    }
    this.#refresher = new Refresher({
      records: this.#connections,
      locks: this.#store.locks,
      clock: this.#clock,
      logger: this.#logger,
      policy: { ...defaultFailurePolicy, ...options.failurePolicy },
      leaseMs,
      lockWaitMs: nonNegative(options.lock?.waitMs ?? 15_000, 'lock.waitMs'),
      contextFor: (record, now) => this.#context(record.provider_config_key, record.connection_config, now),
      marginMsFor: (record) => this.#marginMs(record.provider_config_key),
      emit: (name, event) => this.#emit(name, event),
    });
    this.#connector = {
      integration: (key) => this.#integrations.get(key),
      flows: new FlowStates(this.#records, this.#cipher),
      clock: this.#clock,
      http: this.#http,
      context: (key, config, now) => this.#context(key, config, now),
      draft: (input) => this.#draft(input),
      upsert: (input) => this.upsert(input),
    };
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
    const draft = this.#draft(input);
    await this.#directory.add(draft.connection_id, draft.provider_config_key);
    const record: ConnectionRecord = { ...draft, id: await this.#directory.nextId() };
    const key = connectionKey(record.provider_config_key, record.connection_id);
    const written = await this.#connections.insert(key, record);
    if (!written) throw new DuplicateConnectionError(record.connection_id, record.provider_config_key);
    this.#emit('connection.created', { ...subjectOf(record), operation: 'creation' });
    return toConnectionFull(record, this.#clock(), false);
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
    const draft = this.#draft(input);
    const key = connectionKey(draft.provider_config_key, draft.connection_id);
    await this.#directory.add(draft.connection_id, draft.provider_config_key);
    const existing = await this.#connections.read(key);
    const id = existing?.value.id ?? (await this.#directory.nextId());
    const written = await this.#connections.update(key, (current) =>
      current
        ? {
            ...current,
            credentials: draft.credentials,
            connection_config:
              input.connectionConfig === undefined ? current.connection_config : draft.connection_config,
            metadata: input.metadata === undefined ? current.metadata : draft.metadata,
            tags: input.tags === undefined ? current.tags : draft.tags,
            end_user: input.endUser === undefined ? current.end_user : draft.end_user,
            errors: current.errors.filter((error) => error.type !== 'auth'),
            refresh: healthy,
            updated_at: draft.updated_at,
          }
        : { ...draft, id },
    );
    const stored = (written as Versioned<ConnectionRecord>).value;
    this.#emit('connection.created', { ...subjectOf(stored), operation: existing ? 'override' : 'creation' });
    return toConnectionFull(stored, this.#clock(), false);
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
    if (typeof options !== 'boolean' && (options === null || typeof options !== 'object')) {
      throw new InvalidRequestError('options must be a boolean (forceRefresh) or an object', 'options');
    }
    const {
      forceRefresh = false,
      refreshToken = false,
      providerConfigKey,
    } = typeof options === 'boolean' ? { forceRefresh: options } : options;
    const { key, loaded } = await this.#directory.locate(connectionId, providerConfigKey);
    const fresh = await this.#ensureFresh(key, loaded, forceRefresh === true);
    const now = this.#clock();
    this.#noteFetched(key, now);
    return toConnectionFull(fresh.value, now, refreshToken === true);
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
    const [connectionId, providerConfigKey] = refParts(ref);
    if (
      request === null ||
      typeof request !== 'object' ||
      typeof request.url !== 'string' ||
      typeof request.method !== 'string'
    ) {
      throw new InvalidRequestError('request needs a method and a url', 'request');
    }
    const { key, loaded } = await this.#directory.locate(connectionId, providerConfigKey);
    const fresh = (await this.#ensureFresh(key, loaded, false)).value;
    const strategy = strategyFor(fresh.credentials.type);
    if (!strategy.sign) {
      throw new InvalidRequestError(
        `${fresh.credentials.type} connections are not signed per request; use get()`,
        'connectionId',
      );
    }
    return strategy.sign(
      fresh.credentials,
      request,
      this.#context(fresh.provider_config_key, fresh.connection_config, this.#clock()),
    );
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
    const [connectionId, providerConfigKey] = refParts(ref);
    const { key, loaded } = await this.#directory.locate(connectionId, providerConfigKey);
    let record = (await this.#ensureFresh(key, loaded, false)).value;
    const integration = this.#integrations.get(record.provider_config_key);
    const proxy = integration?.definition.proxy;
    if (!proxy) {
      throw new UnknownIntegrationError(record.provider_config_key, 'has no proxy base URL in its provider definition');
    }
    const send = (current: ConnectionRecord) => {
      const strategy = strategyFor(current.credentials.type);
      const context = this.#context(current.provider_config_key, current.connection_config, this.#clock());
      const request = buildProxyRequest(proxy, strategy, current.credentials, context, path, init, this.#http);
      const certificate = clientCertificateFor(strategy, current.credentials, integration);
      return fetchFor(this.#http, certificate)(request.url, request.init).catch((error: unknown) => {
        throw fetchFailure(error);
      });
    };
    const response = await send(record);
    const replayable =
      init.body === undefined ||
      init.body === null ||
      typeof init.body === 'string' ||
      init.body instanceof URLSearchParams ||
      init.body instanceof Uint8Array;
    if (
      response.status !== 401 ||
      !replayable ||
      !strategyFor(record.credentials.type).canRefresh(record.credentials)
    ) {
      return response;
    }
    const refreshed = (await this.#ensureFresh(key, (await this.#connections.read(key)) ?? loaded, true)).value;
    if (JSON.stringify(refreshed.credentials) === JSON.stringify(record.credentials)) return response;
    await response.body?.cancel();
    record = refreshed;
    return send(record);
  }

  /**
   * Listens for connection events: created (or overridden), refreshed, refresh failed, refresh
   * exhausted — so an app can alert a user to reconnect. Payloads hold no secret.
   *
   * @example
   * ```ts
   * manager.on('refresh.exhausted', ({ connectionId, providerConfigKey }) => notifyUserToReconnect(connectionId, providerConfigKey));
   * ```
   */
  on<E extends ConnectionEventName>(name: E, listener: ConnectionEventListener<E>): this {
    this.#events.on(name, listener);
    return this;
  }

  off<E extends ConnectionEventName>(name: E, listener: ConnectionEventListener<E>): this {
    this.#events.off(name, listener);
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
   * credentials). Throws {@link InvalidStateError} for a forged, replayed or stale state and
   * {@link AuthorizationError} when the user denied access or the exchange failed; nothing is stored then.
   *
   * @example
   * ```ts
   * // In your callback route:
   * const connection = await manager.handleCallback(new URL(request.url).searchParams);
   * ```
   */
  async handleCallback(query: URLSearchParams | Record<string, string>): Promise<ConnectionFull> {
    return (await this.completeCallback(query)).connection;
  }

  /**
   * {@link handleCallback}, also returning the `appState` given to `authorize`.
   *
   * @example
   * ```ts
   * const { connection, appState } = await manager.completeCallback(query);
   * redirect(String(appState?.returnTo ?? '/'));
   * ```
   */
  async completeCallback(
    query: URLSearchParams | Record<string, string>,
  ): Promise<{ connection: ConnectionFull; appState: JsonObject | undefined }> {
    return completeCallback(this.#connector, query);
  }

  /**
   * Connections without credentials, never refreshed (Nango's list shape).
   *
   * @example
   * ```ts
   * const { connections } = await manager.list({ providerConfigKey: 'hubspot-prod', tags: { plan: 'pro' } });
   * ```
   */
  async list(filter: ListConnectionsFilter = {}): Promise<{ connections: ConnectionListItem[] }> {
    if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) {
      throw new InvalidRequestError('filter must be an object', 'filter');
    }
    const wantedTags = filter.tags === undefined ? undefined : normalizeTags(filter.tags);
    const providerConfigKey =
      filter.providerConfigKey === undefined ? undefined : assertId(filter.providerConfigKey, 'providerConfigKey');
    const records: Array<Omit<ConnectionRecord, 'credentials' | 'connection_config'>> = [];
    if (filter.connectionId !== undefined) {
      const connectionId = assertId(filter.connectionId, 'connectionId');
      const keys = providerConfigKey ? [providerConfigKey] : await this.#directory.integrationsOf(connectionId);
      for (const key of keys) {
        const found = await this.#records.read<StoredConnection>(connectionKey(key, connectionId));
        if (found) records.push(found.value);
      }
    } else {
      for await (const [, record] of this.#connections.entries()) records.push(record);
    }
    const connections = records
      .filter((record) => providerConfigKey === undefined || record.provider_config_key === providerConfigKey)
      .filter((record) => !wantedTags || Object.entries(wantedTags).every(([k, v]) => record.tags[k] === v))
      .sort((a, b) => a.id - b.id)
      .map(toListItem);
    return { connections };
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
    const { key, loaded } = await this.#directory.locate(...refParts(ref));
    let current: Versioned<ConnectionRecord> | undefined = loaded;
    while (current && !(await this.#connections.remove(key, current))) {
      current = await this.#connections.read(key);
    }
    const { connection_id: connectionId, provider_config_key: providerConfigKey } = loaded.value;
    await this.#directory.remove(connectionId, providerConfigKey);
    this.#fetchedWrittenAt.delete(key);
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
    const value = assertJsonObject(metadata, 'metadata');
    await this.#modify(ref, (record) => ({ ...record, metadata: value }));
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
    const value = assertJsonObject(metadata, 'metadata');
    await this.#modify(ref, (record) => ({
      ...record,
      metadata: assertJsonObject({ ...record.metadata, ...value }, 'metadata'),
    }));
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
    const value = normalizeTags(tags);
    await this.#modify(ref, (record) => ({ ...record, tags: value }));
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
    const value = assertJsonObject(config, 'connectionConfig');
    await this.#modify(ref, (record) => ({
      ...record,
      connection_config: assertJsonObject({ ...record.connection_config, ...value }, 'connectionConfig'),
    }));
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
  async rotateEncryptionKey(options: { batchSize?: number } = {}): Promise<{ rewritten: number; unchanged: number }> {
    if (!this.#cipher) throw new EncryptionRequiredError('rotateEncryptionKey needs encryptionKey');
    const batchSize = Math.max(1, Math.floor(options.batchSize ?? 100));
    let rewritten = 0;
    let unchanged = 0;
    let batch: string[] = [];
    const flush = async () => {
      const results = await Promise.all(batch.map((key) => this.#connections.reseal(key)));
      rewritten += results.filter(Boolean).length;
      unchanged += results.filter((done) => !done).length;
      batch = [];
    };
    for await (const [key] of this.#connections.entries()) {
      batch.push(key);
      if (batch.length >= batchSize) await flush();
    }
    await flush();
    return { rewritten, unchanged };
  }

  /**
   * Waits for background writes, then closes the store.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => manager.close());
   * ```
   */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#pendingWrites]);
    await this.#store.close();
  }

  async #ensureFresh(
    key: string,
    loaded: Versioned<ConnectionRecord>,
    force: boolean,
  ): Promise<Versioned<ConnectionRecord>> {
    const record = loaded.value;
    const strategy = strategyFor(record.credentials.type);
    const now = this.#clock();
    const expiresAt = strategy.expiresAt(record.credentials);
    // Usable now: not expired, and (for minted modes) something was minted at all.
    const stillValid = !strategy.isRefreshDue(record.credentials, now, 0);
    const canRefresh = strategy.canRefresh(record.credentials);
    if (!force) {
      if (record.refresh.exhausted) {
        throw new RefreshExhaustedError(
          record.connection_id,
          record.refresh.last_error?.error,
          record.refresh.last_error?.log_id,
        );
      }
      if (!strategy.isRefreshDue(record.credentials, now, this.#marginMs(record.provider_config_key))) return loaded;
    }
    if (!canRefresh) {
      if (stillValid) return loaded;
      throw new AccessTokenExpiredError(
        record.connection_id,
        expiresAt === undefined ? 'unknown' : new Date(expiresAt).toISOString(),
      );
    }
    const backoffUntil = force ? undefined : backingOffUntil(record.refresh, now);
    if (backoffUntil !== undefined) {
      if (stillValid) return loaded;
      throw new RefreshBackoffError(
        record.connection_id,
        new Date(backoffUntil).toISOString(),
        record.refresh.last_error?.log_id,
      );
    }
    try {
      return await this.#refresher.refresh(key, loaded, force);
    } catch (error) {
      // A refresh ahead of expiry that failed for a passing reason still leaves a working token.
      const passing =
        (error instanceof ProviderError && error.kind === 'transient') ||
        error instanceof RefreshBackoffError ||
        error instanceof RefreshLockTimeoutError;
      if (!(passing && stillValid && !force)) throw error;
      // Re-read so the caller sees the failure just recorded in `errors`.
      return (await this.#connections.read(key)) ?? loaded;
    }
  }

  /** Validates input into a record (minus its id); throws before anything is written. */
  #draft(input: CreateConnectionInput): Omit<ConnectionRecord, 'id'> {
    if (input === null || typeof input !== 'object') throw new InvalidRequestError('expected a connection object');
    const connectionId = assertId(input.connectionId, 'connectionId');
    const providerConfigKey = assertId(input.providerConfigKey, 'providerConfigKey');
    const integration = this.#integrations.get(providerConfigKey);
    if (!integration) throw new UnknownIntegrationError(providerConfigKey);
    const now = this.#clock();
    const connectionConfig = checkConnectionConfig(
      integration.definition,
      input.connectionConfig === undefined ? {} : assertJsonObject(input.connectionConfig, 'connectionConfig'),
    );
    const credentials = this.#parseCredentials(
      withCredentialDefaults(integration.definition, input.credentials),
      this.#context(providerConfigKey, connectionConfig, now),
    );
    const timestamp = new Date(now).toISOString();
    return {
      connection_id: connectionId,
      provider_config_key: providerConfigKey,
      provider: integration.provider,
      credentials,
      connection_config: connectionConfig,
      metadata: input.metadata === undefined ? {} : assertJsonObject(input.metadata, 'metadata'),
      tags: input.tags === undefined ? {} : normalizeTags(input.tags),
      end_user: input.endUser == null ? null : (assertJsonObject(input.endUser, 'endUser') as unknown as EndUser),
      errors: [],
      created_at: timestamp,
      updated_at: timestamp,
      last_fetched_at: null,
      refresh: healthy,
    };
  }

  /** Listeners run synchronously; one that throws is logged and never breaks the operation. */
  #emit<E extends ConnectionEventName>(name: E, event: ConnectionEvents[E]): void {
    try {
      this.#events.emit(name, event);
    } catch (error) {
      this.#logger.warn('latchkey: an event listener threw', { event: name, error: (error as Error).message });
    }
  }

  #cipherFrom(options: ConnectionManagerOptions): RecordCipher | undefined {
    if (options.encryptionKey !== undefined) return new RecordCipher(options.encryptionKey);
    if (options.requireEncryption)
      throw new EncryptionRequiredError('requireEncryption is set but no encryptionKey was given');
    if (!warnedPlaintext) {
      warnedPlaintext = true;
      this.#logger.warn(
        'latchkey: WARNING: no encryptionKey configured — access tokens, refresh tokens and secrets are stored in PLAIN TEXT. ' +
          'Set encryptionKey (openssl rand -base64 32), or requireEncryption: true to make this an error.',
      );
    }
    return undefined;
  }

  #parseCredentials(input: unknown, context: StrategyContext): Credentials {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      throw new InvalidCredentialsError('credentials must be an object', 'credentials');
    }
    const { type } = input as { type?: unknown };
    if (!isAuthMode(type)) {
      throw new InvalidCredentialsError(`credentials.type must be one of the supported auth modes`, 'credentials.type');
    }
    const expected = context.integration?.definition.authMode;
    if (expected !== undefined && expected !== type) {
      throw new InvalidCredentialsError(`integration expects ${expected} credentials, got ${type}`, 'credentials.type');
    }
    return strategyFor(type).parse(input as Record<string, unknown>, context);
  }

  #context(providerConfigKey: string, connectionConfig: JsonObject, now: number): StrategyContext {
    return {
      integration: this.#integrations.get(providerConfigKey),
      connectionConfig,
      now,
      marginMs: this.#marginMs(providerConfigKey),
      http: this.#http,
    };
  }

  #marginMs(providerConfigKey: string): number {
    const integration = this.#integrations.get(providerConfigKey);
    const seconds =
      integration?.refreshMarginSeconds ?? integration?.definition.tokenExpirationBufferSeconds ?? this.#marginSeconds;
    return seconds * 1000;
  }

  async #modify(ref: ConnectionRef, change: (record: ConnectionRecord) => ConnectionRecord): Promise<void> {
    const { key, loaded } = await this.#directory.locate(...refParts(ref));
    const updatedAt = new Date(this.#clock()).toISOString();
    const written = await this.#connections.update(key, (record) =>
      record ? { ...change(record), updated_at: updatedAt } : undefined,
    );
    if (!written) throw new UnknownConnectionError(loaded.value.connection_id, loaded.value.provider_config_key);
  }

  /** Persists `last_fetched_at` at most once per interval per connection, off the caller's path. */
  #noteFetched(key: string, now: number): void {
    const last = this.#fetchedWrittenAt.get(key);
    if (last !== undefined && now - last < this.#fetchedWriteIntervalMs) return;
    if (this.#fetchedWrittenAt.size >= 100_000) this.#fetchedWrittenAt.clear();
    this.#fetchedWrittenAt.set(key, now);
    const fetchedAt = new Date(now).toISOString();
    const write = this.#records
      // The stored form is enough (sealed secrets stay sealed): no decrypt or re-encrypt for a timestamp.
      .update<StoredConnection>(key, (record) => (record ? { ...record, last_fetched_at: fetchedAt } : undefined))
      .catch((error: unknown) =>
        this.#logger.warn('latchkey: could not persist last_fetched_at', { error: (error as Error).message }),
      )
      .finally(() => this.#pendingWrites.delete(write));
    this.#pendingWrites.add(write);
  }
}

/**
 * `fetch`'s own failures as typed errors: an unreachable provider is a transient `ProviderError`
 * (as on token requests), an init `fetch` refuses an `InvalidRequestError` (its message can quote a
 * header value, so it is not passed on). The caller's own abort stays an `AbortError`.
 */
function fetchFailure(error: unknown): unknown {
  if (!(error instanceof TypeError)) return error;
  const cause = (error as { cause?: { code?: unknown } }).cause;
  if (cause !== undefined)
    return new ProviderError({
      kind: 'transient',
      error: 'network_error',
      errorDescription: typeof cause?.code === 'string' ? cause.code : undefined,
    });
  return new InvalidRequestError('fetch refused this request (an init option it does not accept)', 'init');
}

import { EventEmitter } from 'node:events';
import { AuditTrail, auditRefreshes } from '../audit/trail.js';
import { memoryStore } from '../../adapters/memory.js';
import { nearCacheFor } from '../cache/settings.js';
import type { NearCache } from '../cache/near-cache.js';
import type { Clock, JsonObject, Logger } from '../model/connection.js';
import { EncryptionRequiredError, InvalidRequestError } from '../model/errors.js';
import type { ConnectionEventName, ConnectionEvents } from '../model/events.js';
import type { StrategyContext } from '../modes/strategy.js';
import { defaultHttpSettings, type HttpSettings } from '../provider-http/http.js';
import type { ResolvedIntegration } from '../providers/definition.js';
import type { RateLimits } from '../proxy/rate-limiter.js';
import { resolveIntegrations } from '../providers/integrations.js';
import { defaultFailurePolicy } from '../refresh/failure-policy.js';
import { defaultStorageRetryPolicy, PendingWrites } from '../refresh/pending-writes.js';
import { Refresher } from '../refresh/refresher.js';
import { Revoker } from '../revocation/revoker.js';
import { effectiveMarginMs } from '../refresh/freshness.js';
import { strategyFor } from '../modes/registry.js';
import type { ConnectionRecord } from '../model/record.js';
import type { StorageAdapter } from '../store/adapter.js';
import { ConnectionDirectory } from '../store/connection-directory.js';
import { ConnectionRecords } from '../store/connection-records.js';
import { guardAdapter } from '../store/guarded-adapter.js';
import { PendingFlows } from '../store/pending-flows.js';
import { ClientRegistrations } from '../store/client-registrations.js';
import { RecordCipher } from '../store/record-cipher.js';
import { type MalformedReporter, VersionedStore } from '../store/versioned-store.js';
import { recordActivity } from './activity.js';
import type { ChangeNoticeSlot } from './change-notices.js';
import { LastFetchedWriter } from './last-fetched.js';
import { attentionFor, type AttentionPolicy } from '../refresh/attention.js';
import { type ConnectionManagerOptions, consoleLogger, DAY_MS, keepAlivePolicy, nonNegative } from './options.js';
import { checkManagerOptions } from './options-schema.js';

/**
 * Where events are published and subscribed: a `node:events` EventEmitter at run time, typed by
 * what the manager uses so that no public declaration names `node:events` (a consumer without
 * `@types/node` must still compile against Latchkey's types).
 */
export interface EventChannel {
  on(name: string, listener: ChannelListener): unknown;
  off(name: string, listener: ChannelListener): unknown;
  emit(name: string, event: unknown): boolean;
}

/** A listener of any one event; compared as a method parameter is (bivariantly), as EventEmitter's are. */
type ChannelListener = { listener(event: unknown): void }['listener'];

/**
 * Everything the public operations share, assembled once per manager from its options.
 * `ConnectionManager` holds one and passes it to each operation, which takes only the slice it
 * uses (`Pick<OperationContext, …>`, named beside the operation: `GetHost`, `FetchHost`…).
 */
export interface OperationContext {
  readonly store: StorageAdapter;
  /** Typed, compare-and-swap access to every stored entry. */
  readonly records: VersionedStore;
  /** Connection records, with their secrets sealed at rest. */
  readonly connections: ConnectionRecords;
  readonly directory: ConnectionDirectory;
  readonly flows: PendingFlows;
  /** Clients registered once per integration (MCP_OAUTH2's dynamic registration), sealed in the store. */
  readonly registrations: ClientRegistrations;
  readonly cipher: RecordCipher | undefined;
  readonly integrations: ReadonlyMap<string, ResolvedIntegration>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly http: HttpSettings;
  /** Shared request rates by provider config key (the `rateLimits` option). */
  readonly rateLimits: RateLimits;
  readonly refresher: Refresher;
  readonly lastFetched: LastFetchedWriter;
  /** Refreshed credentials the store refused, served from memory until a write succeeds. */
  readonly pending: PendingWrites;
  readonly events: EventChannel;
  /** Decrypted records kept in memory for `get` (the `nearCache` option); `undefined` when off. */
  readonly nearCache: NearCache | undefined;
  /** Revokes deleted connections' grants at the provider, and retries those queued in the store. */
  readonly revoker: Revoker;
  /** The audit trail (the `audit` option); a trail that records nothing when it is off. */
  readonly audit: AuditTrail;
  /** Where a running webhook sender makes creation and override webhooks as durable as the change. */
  readonly changeNotices: ChangeNoticeSlot;
  /** How long before expiry a connection of this integration counts as due. */
  marginMs(providerConfigKey: string): number;
  /** The margin for one connection: {@link marginMs}, capped at a fraction of its credentials' lifetime. */
  marginFor(record: ConnectionRecord): number;
  /** How often unused connections are refreshed or checked (the `keepAlive` option, checked). */
  readonly keepAlive: AttentionPolicy;
  /**
   * When a connection's credentials next need the background refresher's attention (a refresh,
   * the end of a back-off, a health check), in epoch ms; `null`: never.
   */
  attentionAt(record: ConnectionRecord): number | null;
  /** What a strategy may consult for one connection at `now`. */
  strategyContext(providerConfigKey: string, connectionConfig: JsonObject, now: number): StrategyContext;
  /** Reports an event; a listener that throws is logged and never breaks the operation. */
  emit<E extends ConnectionEventName>(name: E, event: ConnectionEvents[E]): void;
}

/** The plain-text warning is said once per process, not once per manager. */
let warnedPlaintext = false;

/** Checks the options and builds the context; throws a typed error naming the bad option. */
export function createContext(options: ConnectionManagerOptions): OperationContext {
  checkManagerOptions(options);
  const logger = options.logger ?? consoleLogger;
  const guarded = guardAdapter(options.store ?? memoryStore(), logger);
  const near = nearCacheFor(options.nearCache, guarded);
  const store = near?.store ?? guarded;
  const records = new VersionedStore(store, Date.now, malformedReporter(logger));
  const cipher = cipherFrom(options, logger);
  // When each connection next needs the background refresher's attention, kept in the store's
  // index on every write; the policy it uses is assembled below (called only once records are written).
  const attentionOf = (record: ConnectionRecord): number | null => attentionAt(record);
  const connections = new ConnectionRecords(records, cipher, attentionOf);
  const integrations = resolveIntegrations(options.integrations ?? {}, options.providers);
  const clock = options.clock ?? Date.now;
  const marginSeconds = nonNegative(options.refreshMarginSeconds ?? 900, 'refreshMarginSeconds');
  const http: HttpSettings = { ...defaultHttpSettings, ...options.http };
  const leaseMs = nonNegative(options.lock?.leaseMs ?? 30_000, 'lock.leaseMs');
  if (http.timeoutMs >= leaseMs) {
    // A token request that can outlast the lease would let a second process start a refresh.
    throw new InvalidRequestError('http.timeoutMs must be shorter than lock.leaseMs', 'http.timeoutMs');
  }
  const events = new EventEmitter();
  const audit = new AuditTrail(store, options.audit, clock, logger);
  auditRefreshes(audit, events);
  const retry = { ...defaultStorageRetryPolicy, ...options.storageRetry };
  nonNegative(retry.initialDelayMs, 'storageRetry.initialDelayMs');
  nonNegative(retry.maxDelayMs, 'storageRetry.maxDelayMs');
  const pending = new PendingWrites(connections, logger, retry, leaseMs);

  const marginMs = (providerConfigKey: string): number => {
    const integration = integrations.get(providerConfigKey);
    const seconds =
      integration?.refreshMarginSeconds ?? integration?.definition.tokenExpirationBufferSeconds ?? marginSeconds;
    return seconds * 1000;
  };
  const lifetimeFraction = options.refreshLifetimeFraction ?? 0.5;
  if (typeof lifetimeFraction !== 'number' || !(lifetimeFraction > 0 && lifetimeFraction <= 1)) {
    throw new InvalidRequestError('refreshLifetimeFraction must be a number in (0, 1]', 'refreshLifetimeFraction');
  }
  const marginFor = (record: ConnectionRecord): number =>
    effectiveMarginMs(
      record,
      strategyFor(record.credentials.type).expiresAt(record.credentials),
      marginMs(record.provider_config_key),
      lifetimeFraction,
    );
  const keepAlive: AttentionPolicy = {
    ...keepAlivePolicy(options.keepAlive),
    marginFor,
    canVerify: (providerConfigKey) => {
      const definition = integrations.get(providerConfigKey)?.definition;
      return definition?.verification !== undefined && definition.proxy !== undefined;
    },
    idleLifetimeDays: (providerConfigKey) =>
      integrations.get(providerConfigKey)?.definition.refreshTokenIdleLifetimeDays,
    expiringWithinMs: nonNegative(options.expiringWithinMs ?? 7 * DAY_MS, 'expiringWithinMs'),
  };
  const attentionAt = attentionFor(keepAlive);
  const registrations = new ClientRegistrations(records, cipher);
  const strategyContext = (providerConfigKey: string, connectionConfig: JsonObject, now: number) => ({
    providerConfigKey,
    integration: integrations.get(providerConfigKey),
    connectionConfig,
    now,
    marginMs: marginMs(providerConfigKey),
    http,
    async clientRefused(clientId: string) {
      const integration = integrations.get(providerConfigKey);
      // Loaded on first use, as the connect flows are: registration stays off the root import path.
      if (integration)
        await (await import('../connect/mcp-client.js')).reregister({ integration, http, registrations }, clientId);
    },
  });
  const emit = <E extends ConnectionEventName>(name: E, event: ConnectionEvents[E]): void => {
    try {
      events.emit(name, event);
    } catch (error) {
      logger.warn('latchkey: an event listener threw', { event: name, error: (error as Error).message });
    }
  };
  // Hourly refresh counts for the operator's console, in every manager that shares the store.
  recordActivity({ events, store, clock });

  return {
    store,
    records,
    connections,
    directory: new ConnectionDirectory(store, connections),
    flows: new PendingFlows(records, cipher),
    registrations,
    revoker: new Revoker(
      { records, store, cipher, integrations, http, clock, logger, emit, audit },
      options.revokeOnDelete ?? true,
    ),
    cipher,
    integrations,
    clock,
    logger,
    http,
    rateLimits: options.rateLimits ?? {},
    events,
    nearCache: near?.cache,
    audit,
    changeNotices: { current: undefined },
    marginMs,
    marginFor,
    keepAlive,
    attentionAt,
    strategyContext,
    emit,
    pending,
    lastFetched: new LastFetchedWriter(
      records,
      logger,
      nonNegative(options.lastFetchedWriteIntervalMs ?? 60_000, 'lastFetchedWriteIntervalMs'),
    ),
    refresher: new Refresher({
      records: connections,
      locks: store.locks,
      clock,
      logger,
      policy: { ...defaultFailurePolicy, ...options.failurePolicy },
      leaseMs,
      lockWaitMs: nonNegative(options.lock?.waitMs ?? 15_000, 'lock.waitMs'),
      contextFor: (record, now) => strategyContext(record.provider_config_key, record.connection_config, now),
      marginMsFor: marginFor,
      emit,
      pending,
    }),
  };
}

/**
 * Where walks of the store (listing, background passes) report a malformed record they skip: a
 * warning with its key and the field at fault, once per key per manager, so a listing served
 * every second does not repeat it.
 */
function malformedReporter(logger: Logger): MalformedReporter {
  const reported = new Set<string>();
  return (error) => {
    if (reported.has(error.key)) return;
    reported.add(error.key);
    logger.warn('latchkey: skipped a malformed stored record; rewrite or delete it', {
      key: error.key,
      field: error.field,
    });
  };
}

function cipherFrom(options: ConnectionManagerOptions, logger: Logger): RecordCipher | undefined {
  if (options.encryptionKey !== undefined) {
    return new RecordCipher(options.encryptionKey, options.encryptionCacheBytes);
  }
  if (options.requireEncryption) {
    throw new EncryptionRequiredError('requireEncryption is set but no encryptionKey was given');
  }
  if (!warnedPlaintext) {
    warnedPlaintext = true;
    logger.warn(
      'latchkey: WARNING: no encryptionKey configured — access tokens, refresh tokens and secrets are stored in PLAIN TEXT. ' +
        'Set encryptionKey (openssl rand -base64 32), or requireEncryption: true to make this an error.',
    );
  }
  return undefined;
}

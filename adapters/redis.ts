import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import * as v from 'valibot';
import type { Logger } from '../src/model/connection.js';
import { InvalidRequestError } from '../src/model/errors.js';
import type {
  ConnectionIndex,
  ConnectionQuery,
  ErrorClass,
  LockClaim,
  StorageAdapter,
  StoredEntry,
  WriteOptions,
} from '../src/store/adapter.js';
import { type OpenStoreOptions, urlSettings } from '../src/store/from-url.js';
import { errorMessage, isSocketFailure } from '../src/store/network-errors.js';
import { redisConnection, type Reply } from './internal/redis-connection.js';
import { scripts } from './internal/redis-scripts.js';
import { redisChannel } from './internal/redis-watch.js';
import { defaultWatchTiming, keepWatching } from './internal/watch-loop.js';

/** The adapter's name, as `StorageAdapter.name` reports it. */
export const name = 'redis';

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /**
   * `redis://[[user]:password@]host[:port][/db]`, or `rediss://…` for TLS. Valkey speaks the same
   * protocol and takes the same URL.
   */
  url: string;
  /**
   * Put before every key this store writes, so several apps (or several environments) can share
   * one Redis. Default `latchkey:`.
   */
  prefix?: string;
  /** Extra TLS settings for a `rediss://` URL: a private CA, a client certificate, the server name. */
  tls?: Pick<TlsConnectionOptions, 'ca' | 'cert' | 'key' | 'servername' | 'rejectUnauthorized'>;
  /** How long to wait for a connection (TCP, TLS and handshake). Default 5000 ms. */
  connectTimeoutMs?: number;
  /**
   * How long a command may wait for its answer before it fails with a transient error. The
   * connection is dropped then and opened again on the next call. Default 5000 ms.
   */
  commandTimeoutMs?: number;
  /**
   * Where the warning goes when the server keeps no append-only file (see the storage docs).
   * Without it, the warning is reported through `onError`, which the manager logs.
   */
  logger?: Pick<Logger, 'warn'>;
  /**
   * How often the subscriber connection of a near cache (the manager's `nearCache`) proves it
   * still works; a silent one is found within twice this. Default 5000 ms.
   */
  watchHeartbeatMs?: number;
}

/** Keys looked at per script call, so no single call holds the (single-threaded) server long. */
const SCAN_BUDGET = 1000;
const DEFAULT_PREFIX = 'latchkey:';

/** The smallest string greater than every string starting with `prefix` (for a key range). */
function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/**
 * Stores connections in Redis (or Valkey) through `@keyv/redis` and its `@redis/client` (install
 * `@keyv/redis`: it is an optional peer dependency). Records are plain Redis strings; what Keyv
 * lacks is done the Redis way: compare-and-swap and compare-and-delete are Lua scripts (sent as
 * `EVALSHA`, with `EVAL` when the server does not have them cached), entries that expire use `PX`,
 * the connection indexes are sorted sets kept in the same script as the write, ids come from
 * `INCRBY`, and refresh locks are keys with the lease as their `PX`, taken, extended and released
 * by owner-checked scripts timed by the server's clock; who held a lock last is kept beside it for
 * two leases more, so a lease that lapsed is told apart from a free lock (`locks.claim`).
 *
 * Any number of processes may share the server. Run it with the append-only file on
 * (`appendonly yes`, `appendfsync everysec` or `always`): with snapshots alone a crash can lose a
 * rotated refresh token, and the connection with it. The store warns once when it finds
 * persistence off. Standalone Redis or Valkey (with replicas if you like); not Redis Cluster,
 * since one script touches several keys.
 *
 * Connections are opened on first use and again after a failure: a call made while the server is
 * unreachable fails at once with a transient `StorageError` (never queued, never hanging past
 * `commandTimeoutMs`), and the first call once it is back works.
 *
 * @example
 * ```ts
 * import { redisStore } from 'latchkey/adapters/redis';
 * const manager = new ConnectionManager({
 *   store: redisStore({ url: process.env.REDIS_URL!, prefix: 'billing-app:' }),
 *   integrations,
 * });
 * ```
 */
export function redisStore(urlOrOptions: string | RedisStoreOptions): StorageAdapter {
  const options = typeof urlOrOptions === 'string' ? { url: urlOrOptions } : urlOrOptions;
  const url = options.url;
  if (typeof url !== 'string' || !/^(redis|rediss):\/\//.test(url) || !URL.canParse(url)) {
    // The URL is not repeated: it may hold a password.
    throw new InvalidRequestError('redisStore needs a valid redis:// or rediss:// URL', 'url');
  }
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string') throw new InvalidRequestError('prefix must be a string', 'prefix');
  const errorListeners: Array<(error: unknown) => void> = [];
  const connection = redisConnection({
    url,
    ...(options.tls && { tls: options.tls }),
    connectTimeoutMs: options.connectTimeoutMs ?? 5000,
    commandTimeoutMs: options.commandTimeoutMs ?? 5000,
    ...(options.logger && { logger: options.logger }),
    report: (error) => {
      for (const listener of errorListeners) listener(error);
    },
  });
  const { send, evalScript } = connection;

  /** The sorted sets a connection record is in, by the index it was written with. */
  const sets = {
    all: `${prefix}ids`,
    integration: (providerConfigKey: string) => `${prefix}int:${providerConfigKey}`,
    connectionId: (connectionId: string) => `${prefix}cid:${connectionId}`,
    endUser: (endUserId: string) => `${prefix}user:${endUserId}`,
    tag: (key: string, value: string) => `${prefix}tag:${JSON.stringify([key, value])}`,
  };
  const indexArgs = (index: ConnectionIndex): string[] => {
    const memberOf = [
      sets.all,
      sets.integration(index.providerConfigKey),
      sets.connectionId(index.connectionId),
      ...(index.endUserId !== undefined ? [sets.endUser(index.endUserId)] : []),
      ...Object.entries(index.tags).map(([key, value]) => sets.tag(key, value)),
    ];
    return [
      String(index.id),
      index.attentionAt === null ? '' : String(index.attentionAt),
      JSON.stringify(memberOf),
      index.connectionId.toLowerCase(),
      index.endUserId?.toLowerCase() ?? '',
      index.endUserEmail?.toLowerCase() ?? '',
    ];
  };
  const pairs = (reply: Reply, from: number): StoredEntry[] => {
    const list = reply as string[];
    const found: StoredEntry[] = [];
    for (let i = from; i + 1 < list.length; i += 2) found.push({ key: list[i]!, value: list[i + 1]! });
    return found;
  };

  const claimLock = async (lockName: string, owner: string, leaseMs: number): Promise<LockClaim> => {
    const lease = String(Math.max(1, Math.ceil(leaseMs)));
    const keys = [`${prefix}lock:${lockName}`, `${prefix}lockby:${lockName}`];
    const taken = await evalScript(scripts.claim, [...keys, owner, lease]);
    return taken === 0 ? 'held' : taken === 2 ? 'lapsed' : 'free';
  };

  const findConnections = async (query: ConnectionQuery): Promise<StoredEntry[]> => {
    const integrations = query.providerConfigKeys;
    if (integrations?.length === 0 || query.limit <= 0) return [];
    const required: string[] = [];
    if (query.connectionId !== undefined) required.push(sets.connectionId(query.connectionId));
    if (query.endUserId !== undefined) required.push(sets.endUser(query.endUserId));
    if (integrations?.length === 1) required.push(sets.integration(integrations[0]!));
    for (const [key, value] of Object.entries(query.tags ?? {})) required.push(sets.tag(key, value));
    const anyOf = integrations && integrations.length > 1 ? [...new Set(integrations)].map(sets.integration) : [];
    // The first required set is the narrowest one given (connection id, end user, integration,
    // tag, in that order); the others are membership checks.
    const candidates = required.shift() ?? sets.all;
    const search = query.search ? query.search.toLowerCase() : '';
    const found: StoredEntry[] = [];
    const direction = query.order === 'desc' ? 'desc' : 'asc';
    let from = query.afterId === undefined ? (direction === 'desc' ? '+inf' : '-inf') : `(${query.afterId}`;
    for (;;) {
      const reply = (await evalScript(scripts.find, [
        prefix,
        candidates,
        from,
        String(query.limit - found.length),
        String(SCAN_BUDGET),
        String(required.length),
        ...required,
        String(anyOf.length),
        ...anyOf,
        search,
        direction,
      ])) as string[];
      found.push(...pairs(reply, 2));
      if (reply[0] === '1' || found.length >= query.limit || reply[1] === '') return found;
      from = `(${reply[1]}`;
    }
  };

  return {
    name,
    async get(key) {
      return connection.get(`${prefix}v:${key}`);
    },
    async insert(key, value, writeOptions: WriteOptions = {}) {
      let px = '';
      if (writeOptions.expiresAt !== undefined) {
        // Relative to this process's clock, as the caller's expiresAt is: the server counts PX from
        // when the SET arrives (late by that one trip at most), where PXAT would need both clocks
        // to agree.
        px = String(Math.max(1, Math.ceil(writeOptions.expiresAt - Date.now())));
      }
      const index = writeOptions.index ? indexArgs(writeOptions.index) : [];
      return (await evalScript(scripts.insert, [prefix, key, value, px, ...index])) === 1;
    },
    async replace(key, expected, next, writeOptions: WriteOptions = {}) {
      const index = writeOptions.index ? indexArgs(writeOptions.index) : [];
      return (await evalScript(scripts.replace, [prefix, key, expected, next, ...index])) === 1;
    },
    async delete(key, expected) {
      const args = expected === undefined ? [prefix, key, '0', ''] : [prefix, key, '1', expected];
      return (await evalScript(scripts.delete, args)) === 1;
    },
    async scan(scanPrefix, page) {
      if (page.limit <= 0) return [];
      const to = scanPrefix === '' ? '+' : `(${prefixEnd(scanPrefix)}`;
      let from = page.after !== undefined && page.after >= scanPrefix ? `(${page.after}` : `[${scanPrefix}`;
      const found: StoredEntry[] = [];
      for (;;) {
        const reply = (await evalScript(scripts.scan, [
          prefix,
          from,
          to,
          String(page.limit - found.length),
          String(SCAN_BUDGET),
        ])) as string[];
        found.push(...pairs(reply, 2));
        if (reply[0] === '1' || found.length >= page.limit || reply[1] === '') return found;
        from = `(${reply[1]}`;
      }
    },
    findConnections,
    async dueForAttention(before, page) {
      if (page.limit <= 0) return [];
      const cursor = page.after ? ['1', String(page.after.attentionAt), page.after.key] : ['0', '', ''];
      const reply = (await evalScript(scripts.due, [
        prefix,
        Number.isFinite(before) ? String(before) : before > 0 ? '1e308' : '-1e308',
        String(page.limit),
        ...cursor,
      ])) as string[];
      const due: Array<{ key: string; attentionAt: number }> = [];
      for (let i = 0; i + 1 < reply.length; i += 2) due.push({ key: reply[i]!, attentionAt: Number(reply[i + 1]) });
      return due;
    },
    async increment(counter, by = 1) {
      return Number(await send(['INCRBY', `${prefix}n:${counter}`, String(by)]));
    },
    locks: {
      async tryAcquire(lockName, owner, leaseMs) {
        return (await claimLock(lockName, owner, leaseMs)) !== 'held';
      },
      claim: claimLock,
      async release(lockName, owner) {
        return (
          (await evalScript(scripts.release, [`${prefix}lock:${lockName}`, `${prefix}lockby:${lockName}`, owner])) === 1
        );
      },
    },
    onError(listener) {
      errorListeners.push(listener);
    },
    classifyError,
    // Changes are published by the scripts above, in the same atomic step as each write.
    watch: (listener) =>
      keepWatching(
        redisChannel({
          url,
          ...(options.tls && { tls: options.tls }),
          connectTimeoutMs: options.connectTimeoutMs ?? 5000,
          channel: `${prefix}changes`,
        }),
        listener,
        {
          ...defaultWatchTiming,
          ...(options.watchHeartbeatMs !== undefined && { heartbeatMs: options.watchHeartbeatMs }),
        },
      ),
    close: () => connection.close(),
  };
}

/**
 * Error replies that pass: a server still loading its data after a restart, a script running
 * long, a replica promoted or a failover under way (Redis and Valkey alike).
 */
const TRANSIENT_REPLIES = /^(LOADING|BUSY|TRYAGAIN|MASTERDOWN|READONLY|CLUSTERDOWN|NOREPLICAS)\b/;
/** What `@redis/client` says when its socket is gone or never came up. */
const TRANSIENT_MESSAGES =
  /The client is offline|Socket closed unexpectedly|Connection timeout|Disconnects client|Redis client is not connected|Client has encountered a connection error/i;

/** A refused, dropped or silent connection and the replies above pass; a wrong password or command does not. */
function classifyError(error: unknown): ErrorClass {
  if (isSocketFailure(error)) return 'transient';
  const message = errorMessage(error);
  return TRANSIENT_REPLIES.test(message) || TRANSIENT_MESSAGES.test(message) ? 'transient' : 'permanent';
}

/**
 * Opens the store for `redis://…` or `rediss://…` (TLS) (see `openStore` in
 * `latchkey/adapters/url`). Settings: `prefix`, `connectTimeoutMs`, `commandTimeoutMs`.
 */
export function fromUrl(url: string, options: OpenStoreOptions): StorageAdapter {
  const ms = v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)));
  const settings = urlSettings(
    { prefix: v.optional(v.string()), connectTimeoutMs: ms, commandTimeoutMs: ms },
    options.settings,
  );
  return redisStore({
    url,
    ...(settings.prefix !== undefined && { prefix: settings.prefix }),
    ...(settings.connectTimeoutMs !== undefined && { connectTimeoutMs: settings.connectTimeoutMs }),
    ...(settings.commandTimeoutMs !== undefined && { commandTimeoutMs: settings.commandTimeoutMs }),
  });
}

export default redisStore;

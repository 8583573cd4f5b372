import { createHash } from 'node:crypto';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { Logger } from '../src/model/connection.js';
import { InvalidRequestError, StorageError } from '../src/model/errors.js';
import type {
  ConnectionIndex,
  ConnectionQuery,
  StorageAdapter,
  StoredEntry,
  WriteOptions,
} from '../src/store/adapter.js';
import { loadDriver } from '../src/store/optional-driver.js';

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
}

/** What the driver answers to a raw command (RESP2: text, integers, arrays, `null`). */
type Reply = string | number | null | Reply[];

/** The parts of `@redis/client`'s client this store uses. */
interface RedisClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  destroy(): void;
  sendCommand(args: string[]): Promise<unknown>;
}

interface Driver {
  client: RedisClient;
  /** Keyv's store on the same client, for plain reads. */
  keyv: { get(key: string): Promise<string | undefined> };
  /** Closes the connection once pending replies are in (`QUIT`). */
  disconnect(): Promise<void>;
}

/**
 * Shared Lua: an entry's connection index lives in the hash `<prefix>ix:<key>`, which names the
 * sorted sets the key is in, so a replace or delete removes exactly the stale index entries.
 */
const LUA_INDEX = `
local function unindex(p, k)
  local ix = p .. 'ix:' .. k
  local sets = redis.call('HGET', ix, 'sets')
  if not sets then return end
  for _, set in ipairs(cjson.decode(sets)) do redis.call('ZREM', set, k) end
  redis.call('ZREM', p .. 'due', k)
  redis.call('DEL', ix)
end
local function reindex(p, k, a)
  local id, at, sets = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  for _, set in ipairs(cjson.decode(sets)) do redis.call('ZADD', set, id, k) end
  if at ~= '' then redis.call('ZADD', p .. 'due', at, k) end
  redis.call('HSET', p .. 'ix:' .. k, 'id', id, 'sets', sets, 'sc', ARGV[a + 3], 'su', ARGV[a + 4], 'se', ARGV[a + 5])
end
`;

/** ARGV: prefix, key, value, px ('' = none), then the index (see `indexArgs`) or nothing. */
const INSERT = `${LUA_INDEX}
local p, k = ARGV[1], ARGV[2]
local vk = p .. 'v:' .. k
local written
if ARGV[4] ~= '' then
  written = redis.call('SET', vk, ARGV[3], 'NX', 'PX', ARGV[4])
else
  written = redis.call('SET', vk, ARGV[3], 'NX')
end
if not written then return 0 end
redis.call('ZADD', p .. 'keys', 0, k)
unindex(p, k)
if #ARGV > 4 then reindex(p, k, 5) end
return 1
`;

/** ARGV: prefix, key, expected, next, then the index or nothing (keep the index as it is). */
const REPLACE = `${LUA_INDEX}
local p, k = ARGV[1], ARGV[2]
local vk = p .. 'v:' .. k
if redis.call('GET', vk) ~= ARGV[3] then return 0 end
redis.call('SET', vk, ARGV[4], 'KEEPTTL')
if #ARGV > 4 then
  unindex(p, k)
  reindex(p, k, 5)
end
return 1
`;

/** ARGV: prefix, key, '1' when an expected value follows, expected. */
const DELETE = `${LUA_INDEX}
local p, k = ARGV[1], ARGV[2]
local vk = p .. 'v:' .. k
local current = redis.call('GET', vk)
if current and ARGV[3] == '1' and current ~= ARGV[4] then return 0 end
redis.call('DEL', vk)
redis.call('ZREM', p .. 'keys', k)
unindex(p, k)
if current then return 1 end
return 0
`;

/**
 * A page of keys in byte order from the lexicographic set of all keys, with their values. Keys
 * whose value expired (PX) are dropped from the set and the indexes on the way. At most
 * \`budget\` keys are looked at per call, so one call never holds the server long.
 * ARGV: prefix, from, to (ZRANGEBYLEX bounds), limit, budget. Returns done, last key seen, then
 * key, value pairs.
 */
const SCAN = `${LUA_INDEX}
local p = ARGV[1]
local keys = p .. 'keys'
local from, to = ARGV[2], ARGV[3]
local limit, budget = tonumber(ARGV[4]), tonumber(ARGV[5])
local out = {'0', ''}
local found, seen = 0, 0
while found < limit and seen < budget do
  local batch = redis.call('ZRANGEBYLEX', keys, from, to, 'LIMIT', 0, 100)
  for _, k in ipairs(batch) do
    seen = seen + 1
    from = '(' .. k
    out[2] = k
    local v = redis.call('GET', p .. 'v:' .. k)
    if v then
      out[#out + 1] = k
      out[#out + 1] = v
      found = found + 1
    else
      redis.call('ZREM', keys, k)
      unindex(p, k)
    end
    if found >= limit or seen >= budget then return out end
  end
  if #batch < 100 then
    out[1] = '1'
    return out
  end
end
return out
`;

/**
 * Connection records from the candidate set (scored by id) after a score, that are in every
 * required set, in one of the any-of sets (when given) and, when a search is given, whose
 * lower-cased connection id, end user id or email contains it.
 * ARGV: prefix, candidate set, from ('(' .. id or '-inf'), limit, budget, n, n required sets,
 * m, m any-of sets, search. Returns done, last score seen, then key, value pairs.
 */
const FIND = `
local p, candidates, from = ARGV[1], ARGV[2], ARGV[3]
local limit, budget = tonumber(ARGV[4]), tonumber(ARGV[5])
local required, anyOf = {}, {}
local at = 6
for i = 1, tonumber(ARGV[at]) do required[i] = ARGV[at + i] end
at = at + #required + 1
for i = 1, tonumber(ARGV[at]) do anyOf[i] = ARGV[at + i] end
local search = ARGV[at + #anyOf + 1]
local out = {'0', ''}
local found, seen = 0, 0
while found < limit and seen < budget do
  local batch = redis.call('ZRANGEBYSCORE', candidates, from, '+inf', 'WITHSCORES', 'LIMIT', 0, 100)
  for j = 1, #batch, 2 do
    local k, score = batch[j], batch[j + 1]
    seen = seen + 1
    from = '(' .. score
    out[2] = score
    local match = true
    for _, set in ipairs(required) do
      if not redis.call('ZSCORE', set, k) then match = false break end
    end
    if match and #anyOf > 0 then
      match = false
      for _, set in ipairs(anyOf) do
        if redis.call('ZSCORE', set, k) then match = true break end
      end
    end
    if match and search ~= '' then
      match = false
      for _, text in ipairs(redis.call('HMGET', p .. 'ix:' .. k, 'sc', 'su', 'se')) do
        if text and string.find(text, search, 1, true) then match = true break end
      end
    end
    if match then
      local v = redis.call('GET', p .. 'v:' .. k)
      if v then
        out[#out + 1] = k
        out[#out + 1] = v
        found = found + 1
      end
    end
    if found >= limit or seen >= budget then return out end
  end
  if #batch < 200 then
    out[1] = '1'
    return out
  end
end
return out
`;

/**
 * Keys of the attention set (scored by attentionAt; equal scores in byte order of the key) after
 * a cursor, up to a time. The cursor's own member, when still there with the same score, gives the
 * position directly (ZRANK); otherwise the page starts at the cursor's score and skips the equal
 * scores whose key is not after the cursor's, compared byte by byte (Lua's \`<\` on strings follows
 * the server's locale).
 * ARGV: prefix, before, limit, '1' when a cursor follows, cursor attentionAt, cursor key.
 * Returns key, attentionAt pairs.
 */
const DUE = `
local due = ARGV[1] .. 'due'
local before, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local function notAfter(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a <= #b
end
local start, skipAt, skipKey = 0, nil, nil
if ARGV[4] == '1' then
  local score = redis.call('ZSCORE', due, ARGV[6])
  if score and tonumber(score) == tonumber(ARGV[5]) then
    start = redis.call('ZRANK', due, ARGV[6]) + 1
  else
    start = redis.call('ZCOUNT', due, '-inf', '(' .. ARGV[5])
    skipAt, skipKey = tonumber(ARGV[5]), ARGV[6]
  end
end
local out = {}
local found = 0
while true do
  local batch = redis.call('ZRANGE', due, start, start + 99, 'WITHSCORES')
  for j = 1, #batch, 2 do
    local k, score = batch[j], batch[j + 1]
    local at = tonumber(score)
    if at > before then return out end
    if not (skipAt and at == skipAt and notAfter(k, skipKey)) then
      out[#out + 1] = k
      out[#out + 1] = score
      found = found + 1
      if found >= limit then return out end
    end
  end
  if #batch < 200 then return out end
  start = start + 100
end
`;

/** ARGV: lock key, owner, lease ms. Takes a free lock or extends the caller's own. */
const ACQUIRE = `
local current = redis.call('GET', ARGV[1])
if current and current ~= ARGV[2] then return 0 end
redis.call('SET', ARGV[1], ARGV[2], 'PX', ARGV[3])
return 1
`;

/** ARGV: lock key, owner. Removes the lock only if the caller still holds it. */
const RELEASE = `
if redis.call('GET', ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('DEL', ARGV[1])
return 1
`;

/** Keys looked at per script call, so no single call holds the (single-threaded) server long. */
const SCAN_BUDGET = 1000;
const DEFAULT_PREFIX = 'latchkey:';

interface Script {
  source: string;
  sha: string;
}
const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });
const scripts = {
  insert: script(INSERT),
  replace: script(REPLACE),
  delete: script(DELETE),
  scan: script(SCAN),
  find: script(FIND),
  due: script(DUE),
  acquire: script(ACQUIRE),
  release: script(RELEASE),
};

/** The smallest string greater than every string starting with `prefix` (for a key range). */
function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** The redis URL with any password taken out, for messages. */
function redactedUrl(url: string): string {
  return url.replace(/\/\/[^/@\s]*@/g, '//***@');
}

/** An error with a driver-style `code`, which the store's guard classifies (ETIMEDOUT is transient). */
function codedError(message: string, code: string, cause?: unknown): Error {
  return Object.assign(new Error(message, { cause }), { code });
}

/**
 * Stores connections in Redis (or Valkey) through `@keyv/redis` and its `@redis/client` (install
 * `@keyv/redis`: it is an optional peer dependency). Records are plain Redis strings; what Keyv
 * lacks is done the Redis way: compare-and-swap and compare-and-delete are Lua scripts (sent as
 * `EVALSHA`, with `EVAL` when the server does not have them cached), entries that expire use `PX`,
 * the connection indexes are sorted sets kept in the same script as the write, ids come from
 * `INCRBY`, and refresh locks are `SET name owner NX PX lease` with owner-checked extension and
 * release scripts, timed by the server's clock.
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
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const commandTimeoutMs = options.commandTimeoutMs ?? 5000;
  const secure = url.startsWith('rediss://');

  const errorListeners: Array<(error: unknown) => void> = [];
  const report = (error: unknown) => {
    for (const listener of errorListeners) listener(error);
  };
  let closed = false;
  let driver: Promise<Driver> | undefined;
  let loaded: Driver | undefined;
  let connecting: Promise<void> | undefined;
  /** The error that took the connection down, reported once rather than per failed attempt. */
  let outageReported = false;
  let persistenceChecked = false;

  const load = () =>
    (driver ??= loadDriver(() => import('@keyv/redis'), name, '@keyv/redis').then(
      ({ default: KeyvRedis, createClient }) => {
        const client = createClient({
          url,
          socket: {
            connectTimeout: connectTimeoutMs,
            // Reconnection is on demand (see `connected`): no background retry loop, no queue.
            reconnectStrategy: false,
            ...(secure ? { tls: true as const, ...options.tls } : {}),
          },
          // A command sent while disconnected fails at once instead of waiting for a reconnect.
          disableOfflineQueue: true,
        });
        // Keyv's store takes the client as is; it forwards the client's errors as its own.
        const keyv = new KeyvRedis<string>(client, { throwOnErrors: true, throwOnConnectError: true });
        keyv.on('error', (error: unknown) => {
          if (closed || outageReported) return;
          outageReported = true;
          report(error);
        });
        return { client: client as unknown as RedisClient, keyv, disconnect: () => keyv.disconnect() };
      },
    )).then(
      (ready) => (loaded = ready),
      (error: unknown) => {
        driver = undefined;
        throw error;
      },
    );

  /** Closes the connection at once, failing its pending commands; a closed one is left alone. */
  const drop = (d: Driver) => {
    try {
      if (d.client.isOpen) d.client.destroy();
    } catch {
      // Already closed by the driver in the meantime.
    }
  };

  /** Opens the connection if it is not open: one attempt shared by the calls that wait for it. */
  const connected = async (): Promise<Driver> => {
    if (closed) throw new StorageError('The redis store is closed', { transient: false });
    const d = loaded ?? (await load());
    if (d.client.isReady) return d;
    if (!d.client.isOpen) {
      connecting ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            d.client.connect(),
            new Promise((_, reject) => {
              timer = setTimeout(() => {
                drop(d);
                reject(
                  codedError(`Redis at ${redactedUrl(url)} did not answer within ${connectTimeoutMs} ms`, 'ETIMEDOUT'),
                );
              }, connectTimeoutMs);
            }),
          ]);
        } finally {
          clearTimeout(timer);
          connecting = undefined;
        }
        outageReported = false;
        if (!persistenceChecked) {
          persistenceChecked = true;
          void checkPersistence(d);
        }
      })();
    }
    if (connecting) await connecting;
    if (!d.client.isReady) {
      throw codedError(`Redis at ${redactedUrl(url)} is not connected`, 'ECONNRESET');
    }
    return d;
  };

  /** Warns once when the server keeps no append-only file; tolerates CONFIG being disabled or renamed. */
  const checkPersistence = async (d: Driver) => {
    let settings: Reply;
    try {
      settings = (await bounded(d, d.client.sendCommand(['CONFIG', 'GET', 'append*']))) as Reply;
    } catch {
      return; // Managed services often disable CONFIG; nothing to tell then.
    }
    const values = new Map<string, string>();
    if (Array.isArray(settings)) {
      for (let i = 0; i + 1 < settings.length; i += 2) values.set(String(settings[i]), String(settings[i + 1]));
    }
    const appendOnly = values.get('appendonly');
    const fsync = values.get('appendfsync');
    let problem: string | undefined;
    if (appendOnly === 'no') problem = 'persistence is off (appendonly no)';
    else if (appendOnly === 'yes' && fsync === 'no') problem = 'the append-only file is not synced (appendfsync no)';
    if (!problem) return;
    const message =
      `latchkey: the Redis server at ${redactedUrl(url)}: ${problem}. A crash or restart can lose ` +
      'rotated refresh tokens, and with them the connections; set appendonly yes and appendfsync everysec (or always)';
    if (options.logger) options.logger.warn(message, { adapter: name });
    else report(codedError(message, 'REDIS_NOT_PERSISTENT'));
  };

  /**
   * `command`, failing with ETIMEDOUT when no answer comes within `commandTimeoutMs`.
   * `@redis/client`'s own command timeout only covers the wait to be written, not the reply. A
   * connection that stopped answering (a paused or partitioned server, a half-open socket) is
   * dropped then, failing its other commands too, and the next call opens a new one.
   */
  const bounded = <T>(d: Driver, command: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(codedError(`Redis did not answer within ${commandTimeoutMs} ms`, 'ETIMEDOUT'));
        // After the rejection, so the race reports the timeout rather than the dropped connection.
        drop(d);
      }, commandTimeoutMs);
    });
    return Promise.race([command, timeout]).finally(() => clearTimeout(timer));
  };
  /** Runs one command: straight to the client once connected. */
  const send = async (args: string[]): Promise<Reply> => {
    const d = loaded?.client.isReady ? loaded : await connected();
    return (await bounded(d, d.client.sendCommand(args))) as Reply;
  };
  const evalScript = async (s: Script, args: string[]): Promise<Reply> => {
    try {
      return await send(['EVALSHA', s.sha, '0', ...args]);
    } catch (error) {
      // A restarted server (or SCRIPT FLUSH) has forgotten the script: send it in full once.
      if (!String((error as Error | undefined)?.message).startsWith('NOSCRIPT')) throw error;
      return send(['EVAL', s.source, '0', ...args]);
    }
  };

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
    let from = query.afterId === undefined ? '-inf' : `(${query.afterId}`;
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
      ])) as string[];
      found.push(...pairs(reply, 2));
      if (reply[0] === '1' || found.length >= query.limit || reply[1] === '') return found;
      from = `(${reply[1]}`;
    }
  };

  return {
    name,
    async get(key) {
      const d = loaded?.client.isReady ? loaded : await connected();
      return bounded(d, d.keyv.get(`${prefix}v:${key}`));
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
        const key = `${prefix}lock:${lockName}`;
        const lease = String(Math.max(1, Math.ceil(leaseMs)));
        // The common case in one command; only a lock already held needs the owner check.
        if ((await send(['SET', key, owner, 'NX', 'PX', lease])) === 'OK') return true;
        return (await evalScript(scripts.acquire, [key, owner, lease])) === 1;
      },
      async release(lockName, owner) {
        return (await evalScript(scripts.release, [`${prefix}lock:${lockName}`, owner])) === 1;
      },
    },
    onError(listener) {
      errorListeners.push(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      const d = loaded ?? (driver ? await driver.catch(() => undefined) : undefined);
      if (!d?.client.isOpen) return;
      // Pending commands get their answers first, for at most a command timeout.
      if (d.client.isReady) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          d.disconnect().catch(() => {}),
          new Promise((resolve) => (timer = setTimeout(resolve, commandTimeoutMs))),
        ]);
        clearTimeout(timer);
      }
      drop(d);
    },
  };
}

export default redisStore;

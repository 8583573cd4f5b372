import { randomUUID } from 'node:crypto';
import type Keyv from 'keyv';
import * as v from 'valibot';
import { StorageError } from '../src/model/errors.js';
import type { ErrorClass, StorageAdapter, WriteOptions } from '../src/store/adapter.js';
import { isSocketFailure } from '../src/store/network-errors.js';
import { memoryStore } from './memory.js';

/** The adapter's name, as `StorageAdapter.name` reports it. */
export const name = 'keyv';

/** Options of {@link keyvStore}. */
export interface KeyvStoreOptions {
  /**
   * How long this process's claim on the Keyv namespace lasts without renewal (renewed every
   * third of it). Another process finding a live claim refuses to open. Default 30 000 ms.
   */
  claimMs?: number;
  /**
   * Which failures of the backend may pass if retried. Default: Node's socket failures
   * (`ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT`, …) are transient, anything else permanent.
   */
  classifyError?: (error: unknown) => ErrorClass | undefined;
}

/** A record as kept in Keyv: its text, its expiry and its connection index. */
const IndexSchema = v.object({
  id: v.number(),
  providerConfigKey: v.string(),
  connectionId: v.string(),
  endUserId: v.optional(v.string()),
  endUserEmail: v.optional(v.string()),
  tags: v.record(v.string(), v.string()),
  attentionAt: v.nullable(v.number()),
});
const RecordSchema = v.object({ v: v.string(), x: v.optional(v.number()), i: v.optional(IndexSchema) });
const ClaimSchema = v.object({ owner: v.string(), until: v.number() });
type StoredRecord = v.InferOutput<typeof RecordSchema>;

const RECORD = 'v:';
const COUNTER = 'n:';
const CLAIM = 'latchkey-claim';

/** What every `keyvStore` over one `Keyv` instance shares: the in-process view and its queue. */
interface Shared {
  ready: Promise<void>;
  /** The indexes, locks and a copy of the values, loaded from Keyv once and kept in step with it. */
  view: StorageAdapter;
  /** Expiry and index of each record, to write a whole record back when only its text changes. */
  meta: Map<string, Omit<StoredRecord, 'v'>>;
  counters: Map<string, number>;
  /** Per key, the tail of the writes queued on it: one read-compare-write at a time. */
  queue: Map<string, Promise<unknown>>;
  /** Set when another process took the claim: every later call fails with it. */
  lost?: StorageError;
  lastError?: unknown;
  users: number;
  timer?: NodeJS.Timeout;
  errorListeners: Set<(error: unknown) => void>;
  onKeyvError: (error: unknown) => void;
}
const sharedByKeyv = new WeakMap<Keyv, Shared>();

/**
 * Runs Latchkey over a `Keyv` instance the app already has — any of Keyv's stores (its in-memory
 * `Map`, SQLite, Postgres, Redis, MongoDB, …) — as long as Keyv can iterate it (`keyv.iterator`).
 *
 * Keyv offers get, set with a TTL, delete and iteration; it has no compare-and-swap, ordered scan,
 * secondary index, atomic increment or lock. This adapter builds them in the process: on first use
 * it walks the namespace once and keeps the indexes (and a copy of every value) in memory; every
 * write is queued per key, compared against that copy, written through to Keyv, and only then
 * applied in memory. Reads, listing and the refresh schedule are answered from memory.
 *
 * **One process only.** Compare-and-swap, id allocation and refresh locks hold among the stores
 * and managers of this process that share the `Keyv` instance, not across processes: two processes
 * would both win a compare-and-swap, hand out the same ids and refresh the same token at once. So
 * the adapter claims the namespace (an entry renewed every `claimMs / 3`): a second process finding
 * a live claim refuses to open, and a process that finds its claim taken fails every later call.
 * Two processes started within the same instant may both miss the other's claim until the first
 * renewal. For several processes use the sqlite, postgres or redis adapter.
 *
 * The app keeps owning the `Keyv` instance: `close()` does not disconnect it.
 *
 * @example
 * ```ts
 * import Keyv from 'keyv';
 * import KeyvSqlite from '@keyv/sqlite';
 * import { keyvStore } from 'latchkey/adapters/keyv';
 * const keyv = new Keyv({ store: new KeyvSqlite('sqlite://./app.db'), namespace: 'latchkey' });
 * const manager = new ConnectionManager({ store: keyvStore(keyv), integrations });
 * ```
 */
export function keyvStore(keyv: Keyv, options: KeyvStoreOptions = {}): StorageAdapter {
  if (typeof keyv?.get !== 'function' || typeof keyv.set !== 'function') {
    throw new StorageError('keyvStore needs a Keyv instance', { transient: false });
  }
  let shared = sharedByKeyv.get(keyv);
  if (!shared) {
    const opened = openShared(keyv, options.claimMs ?? 30_000);
    sharedByKeyv.set(keyv, opened);
    // A failed load (another process's claim, an unreachable backend) is tried afresh next time.
    opened.ready.catch(() => {
      if (sharedByKeyv.get(keyv) === opened) sharedByKeyv.delete(keyv);
    });
    shared = opened;
  }
  const s = shared;
  s.users++;
  let closed = false;

  /** The shared view once loaded, unless this store is closed or the claim was lost. */
  const ready = async () => {
    if (closed) throw new StorageError('The keyv store is closed', { transient: false });
    await s.ready;
    if (s.lost) throw s.lost;
    return s.view;
  };
  /** Runs `step` after every earlier write to `key` in this process has finished. */
  const serial = <T>(key: string, step: () => Promise<T>): Promise<T> => {
    const previous = s.queue.get(key) ?? Promise.resolve();
    const run = previous.then(step, step);
    const tail = run.catch(() => undefined);
    s.queue.set(key, tail);
    // `tail` cannot reject (failures are caught above) and the cleanup cannot throw.
    void tail.then(() => {
      if (s.queue.get(key) === tail) s.queue.delete(key);
    });
    return run;
  };
  /** Keyv reports a failed write by answering `false` (its error goes to its `error` event). */
  const write = async (key: string, value: unknown, ttl?: number) => {
    s.lastError = undefined;
    if (!(await keyv.set(key, value, ttl))) {
      throw new Error(`Keyv did not write ${key}`, { cause: s.lastError });
    }
  };
  const ttlOf = (expiresAt: number | undefined) =>
    expiresAt === undefined ? undefined : Math.max(1, Math.ceil(expiresAt - Date.now()));

  return {
    name,
    async get(key) {
      return (await ready()).get(key);
    },
    async insert(key, value, writeOptions: WriteOptions = {}) {
      const view = await ready();
      return serial(key, async () => {
        if ((await view.get(key)) !== undefined) return false;
        const record: StoredRecord = { v: value };
        if (writeOptions.expiresAt !== undefined) record.x = writeOptions.expiresAt;
        if (writeOptions.index) record.i = writeOptions.index;
        await write(RECORD + key, record, ttlOf(record.x));
        await view.insert(key, value, writeOptions);
        s.meta.set(key, { ...(record.x !== undefined && { x: record.x }), ...(record.i && { i: record.i }) });
        return true;
      });
    },
    async replace(key, expected, next, writeOptions: WriteOptions = {}) {
      const view = await ready();
      return serial(key, async () => {
        if ((await view.get(key)) !== expected) return false;
        const meta = { ...s.meta.get(key) };
        if (writeOptions.index) meta.i = writeOptions.index;
        await write(RECORD + key, { v: next, ...meta }, ttlOf(meta.x));
        await view.replace(key, expected, next, writeOptions);
        s.meta.set(key, meta);
        return true;
      });
    },
    async delete(key, expected) {
      const view = await ready();
      return serial(key, async () => {
        const current = await view.get(key);
        if (current === undefined || (expected !== undefined && current !== expected)) return false;
        s.lastError = undefined;
        await keyv.delete(RECORD + key);
        if (s.lastError !== undefined) throw s.lastError;
        await view.delete(key, expected);
        s.meta.delete(key);
        return true;
      });
    },
    async scan(prefix, page) {
      return (await ready()).scan(prefix, page);
    },
    async findConnections(query) {
      return (await ready()).findConnections(query);
    },
    async dueForAttention(before, page) {
      return (await ready()).dueForAttention(before, page);
    },
    async increment(counter, by = 1) {
      await ready();
      return serial(COUNTER + counter, async () => {
        const next = (s.counters.get(counter) ?? 0) + by;
        await write(COUNTER + counter, next);
        s.counters.set(counter, next);
        return next;
      });
    },
    locks: {
      // Leases live in this process's memory: the claim makes it the only process there is.
      async tryAcquire(lockName, owner, leaseMs) {
        return (await ready()).locks.tryAcquire(lockName, owner, leaseMs);
      },
      async release(lockName, owner) {
        return (await ready()).locks.release(lockName, owner);
      },
    },
    onError(listener) {
      s.errorListeners.add(listener);
    },
    classifyError: options.classifyError ?? ((error) => (isSocketFailure(error) ? 'transient' : 'permanent')),
    async close() {
      if (closed) return;
      closed = true;
      if (--s.users > 0) return;
      // The last store on this Keyv: stop renewing and give the claim up, so another process may
      // take over at once instead of after the claim lapses.
      clearInterval(s.timer);
      keyv.off('error', s.onKeyvError);
      if (sharedByKeyv.get(keyv) === s) sharedByKeyv.delete(keyv);
      await s.ready.catch(() => undefined);
      if (!s.lost) await keyv.delete(CLAIM).catch(() => undefined);
      await s.view.close();
    },
  };
}

/** Loads the namespace into memory and claims it for this process. */
function openShared(keyv: Keyv, claimMs: number): Shared {
  const owner = randomUUID();
  const shared: Shared = {
    ready: Promise.resolve(),
    view: memoryStore(),
    meta: new Map(),
    counters: new Map(),
    queue: new Map(),
    users: 0,
    errorListeners: new Set(),
    onKeyvError: (error: unknown) => {
      shared.lastError = error;
      for (const listener of shared.errorListeners) listener(error);
    },
  };
  keyv.on('error', shared.onKeyvError);
  const claim = async (first: boolean) => {
    const found = v.safeParse(ClaimSchema, await keyv.get(CLAIM));
    if (found.success && found.output.owner !== owner && found.output.until > Date.now()) {
      const lost = new StorageError(
        first
          ? 'The keyv store is in use by another process (its claim is live); the keyv adapter serves one process only'
          : 'Another process took over this keyv store; the keyv adapter serves one process only',
        { transient: false },
      );
      if (first) throw lost;
      shared.lost = lost;
      clearInterval(shared.timer);
      for (const listener of shared.errorListeners) listener(lost);
      return;
    }
    await keyv.set(CLAIM, { owner, until: Date.now() + claimMs }, claimMs);
  };
  shared.ready = (async () => {
    if (typeof keyv.iterator !== 'function') {
      throw new StorageError(
        'keyvStore needs a Keyv store it can iterate (keyv.iterator): Map, SQLite, Postgres, MySQL, Redis, MongoDB, …',
        { transient: false },
      );
    }
    await claim(true);
    for await (const [key, value] of keyv.iterator(undefined) as AsyncIterable<[string, unknown]>) {
      if (key.startsWith(RECORD)) {
        const record = v.safeParse(RecordSchema, value);
        if (!record.success) throw badEntry(key);
        if (record.output.x !== undefined && record.output.x <= Date.now()) continue;
        const options: WriteOptions = {};
        if (record.output.x !== undefined) options.expiresAt = record.output.x;
        if (record.output.i) options.index = record.output.i;
        await shared.view.insert(key.slice(RECORD.length), record.output.v, options);
        shared.meta.set(key.slice(RECORD.length), { x: record.output.x, i: record.output.i });
      } else if (key.startsWith(COUNTER)) {
        if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw badEntry(key);
        shared.counters.set(key.slice(COUNTER.length), value);
      }
    }
    shared.timer = setInterval(() => {
      claim(false).catch((error: unknown) => {
        for (const listener of shared.errorListeners) listener(error);
      });
    }, claimMs / 3);
    shared.timer.unref();
  })();
  // The first call reports a failed load; none is left unhandled meanwhile.
  shared.ready.catch(() => undefined);
  return shared;
}

function badEntry(key: string): StorageError {
  return new StorageError(`The keyv store holds an entry Latchkey did not write in its shape: ${key}`, {
    transient: false,
  });
}

export default keyvStore;

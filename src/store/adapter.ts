/**
 * The storage contract: what Latchkey needs from a backend, and nothing about how the backend
 * lays it out. The adapters in `adapters/` implement it: SQLite, Postgres and Redis over Keyv's
 * store for that backend, doing what Keyv lacks the backend's own way; `keyv` over any `Keyv`
 * instance; memory on its own in-process maps, with no Keyv at all.
 *
 * Values are opaque text (Latchkey's plain JSON codec lives above this layer): compare-and-swap
 * compares that exact text, so an adapter never parses what it stores. What an adapter must be
 * able to filter and order on is handed to it beside the text, as a {@link ConnectionIndex}.
 */
export interface StorageAdapter {
  /** Short backend name, e.g. `postgres`. */
  readonly name: string;

  /** The stored text of `key`, or `undefined` when absent or past its `expiresAt`. */
  get(key: string): Promise<string | undefined>;
  /** Writes `value` only if `key` is absent (an entry past its `expiresAt` counts as absent). */
  insert(key: string, value: string, options?: WriteOptions): Promise<boolean>;
  /** Writes `next` only if `key` holds exactly `expected`. */
  replace(key: string, expected: string, next: string, options?: WriteOptions): Promise<boolean>;
  /**
   * Deletes `key` only if it holds exactly `expected`; without `expected`, whatever it holds.
   * Deleting an absent key is not an error: it answers `false`.
   */
  delete(key: string, expected?: string): Promise<boolean>;

  /**
   * Up to `limit` entries whose keys start with `prefix`, in ascending key order (JavaScript
   * string order of the keys, which are ASCII), strictly after `after` when given: keyset paging
   * pushed down to the backend's key index, never `OFFSET`. Expired entries are left out.
   */
  scan(prefix: string, page: { after?: string; limit: number }): Promise<StoredEntry[]>;

  /**
   * Connection records (entries written with a {@link ConnectionIndex}) matching every given
   * filter, in ascending `id` order, strictly after `afterId`, at most `limit`.
   */
  findConnections(query: ConnectionQuery): Promise<StoredEntry[]>;

  /**
   * Keys of connection records whose `attentionAt` is at or before `before`, in ascending
   * `(attentionAt, key)` order, strictly after `after`, at most `limit`. Costs O(result): this is
   * how the background refresher finds due connections without reading the others.
   */
  dueForAttention(
    before: number,
    page: { after?: AttentionCursor; limit: number },
  ): Promise<Array<{ key: string; attentionAt: number }>>;

  /**
   * Atomically adds `by` (default 1) to the counter `name` (starting from 0) and returns the new
   * value: one step, never a read-compare-swap loop on a hot key.
   */
  increment(name: string, by?: number): Promise<number>;

  readonly locks: LockStore;
  /**
   * Registers a listener for failures nobody awaits (an idle pooled connection dropped by a
   * database restart); the manager logs them. Optional: adapters without such failures omit it.
   */
  onError?(listener: (error: unknown) => void): void;
  /**
   * Whether a failure of this adapter's driver may pass if retried (`transient`: a refused or
   * dropped connection, a busy lock, a server restarting) or will not (`permanent`). The core
   * knows no driver's codes; it asks here. Optional: without it (or on `undefined`) a failure
   * counts as permanent.
   */
  classifyError?(error: unknown): ErrorClass | undefined;
  /**
   * Optional: reports changes to entries as the backend commits them, so a process can hold
   * records in memory (the manager's `nearCache`) and drop each one when any process replaces it.
   * Reports `up` once every change committed from then on will be reported, `changed` (a `key`,
   * or none: any entry may have changed) after each commit through any connection, and `down`
   * when it can no longer promise that (a dropped connection, a failing poll); it reconnects on its
   * own and reports `up` again. Changes committed while down may never be reported. The listener
   * is called synchronously and must not throw. Stopping ends its connections.
   */
  watch?(listener: (change: StoreChange) => void): StopWatching;
  /** Releases connections and handles. Calling it again is harmless; other calls fail afterwards. */
  close(): Promise<void>;
}

/** What {@link StorageAdapter.watch} reports. */
export type StoreChange = { type: 'up' } | { type: 'changed'; key?: string } | { type: 'down'; error?: unknown };

/** Ends a {@link StorageAdapter.watch}: no call of its listener once it resolves. */
export type StopWatching = () => Promise<void>;

/** How {@link StorageAdapter.classifyError} sorts a failure. */
export type ErrorClass = 'transient' | 'permanent';

/** One stored entry. */
export interface StoredEntry {
  key: string;
  value: string;
}

/** Options of a write. */
export interface WriteOptions {
  /** Epoch ms after which the entry reads as absent and may be purged (pending connect flows). */
  expiresAt?: number;
  /**
   * What `findConnections` and `dueForAttention` use; given on every write that may change them.
   * A `replace` without it keeps the entry's index as it was (a `last_fetched_at` write).
   */
  index?: ConnectionIndex;
}

/** The fields of a connection record a backend indexes, handed over with each write of it. */
export interface ConnectionIndex {
  /**
   * The record's integer id: the listing order. Ids are taken from a counter in blocks per
   * process, so they follow creation order within a process; a walk of `list` that runs while
   * another process creates may not see a connection whose id falls behind its cursor.
   */
  id: number;
  providerConfigKey: string;
  connectionId: string;
  endUserId?: string;
  endUserEmail?: string;
  /** Normalized tags (lower-case keys, string values). */
  tags: Readonly<Record<string, string>>;
  /** Epoch ms when the credentials next need attention (refresh, back-off end, health check); `null`: never. */
  attentionAt: number | null;
}

/** Filters of {@link StorageAdapter.findConnections}; all given ones must match. */
export interface ConnectionQuery {
  connectionId?: string;
  /** Any of these integrations. */
  providerConfigKeys?: readonly string[];
  endUserId?: string;
  /** Every one of these tags, exactly. */
  tags?: Readonly<Record<string, string>>;
  /** Case-insensitive substring of the connection id, the end user's id or the end user's email. */
  search?: string;
  /** Only ids past this one in `order`: greater when ascending, smaller when descending (the keyset cursor). */
  afterId?: number;
  /** By `id` (creation order): `'asc'` (the default) or `'desc'`, newest first. */
  order?: 'asc' | 'desc';
  limit: number;
}

/** Where a page of {@link StorageAdapter.dueForAttention} ended. */
export interface AttentionCursor {
  attentionAt: number;
  key: string;
}

/**
 * Named locks with an owner and a lease. A lock whose lease ran out may be taken by another owner;
 * `release` only removes a lock its caller still owns, so a holder that outlived its lease cannot
 * release someone else's lock.
 */
export interface LockStore {
  /**
   * Takes `name` for `owner` unless another owner holds an unexpired lease. The owner that holds
   * it may call again to extend its lease to `leaseMs` from now.
   */
  tryAcquire(name: string, owner: string, leaseMs: number): Promise<boolean>;
  /**
   * Optional: {@link LockStore.tryAcquire} that also says how the lock was taken — `'free'` (no
   * owner held it, or the caller did and extended its lease), `'lapsed'` (taken from another owner
   * whose lease had run out) — or `'held'` (another owner holds an unexpired lease: not taken).
   * An owner whose lease lapsed may be alive, stalled by the same outage, with a write still on
   * its way; the refresher gives it a moment before spending a refresh token on what it reads.
   * Adapters whose leases vanish when they run out (keys that expire) must keep the last owner
   * beside the lease to tell a lapsed lease from a free lock (the Redis adapter does), or leave
   * this out.
   */
  claim?(name: string, owner: string, leaseMs: number): Promise<LockClaim>;
  /** Removes `name` if `owner` holds it. Returns whether it did. */
  release(name: string, owner: string): Promise<boolean>;
}

/** What {@link LockStore.claim} did. */
export type LockClaim = 'free' | 'lapsed' | 'held';

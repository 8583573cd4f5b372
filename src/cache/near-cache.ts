import type { ConnectionRecord } from '../model/record.js';
import type { StopWatching, StoreChange } from '../store/adapter.js';
import type { Versioned } from '../store/versioned-store.js';

/** What a cached record costs beside its stored text: the decoded objects, the map entry. */
const ENTRY_OVERHEAD_BYTES = 512;

/**
 * A read of the store under way whose result may be cached. Any change to its key (or to
 * everything) reported while it runs voids it, so a record read before a write committed is
 * never cached after that write's notice arrived.
 */
export interface Fill {
  readonly key: string;
  readonly epoch: number;
  valid: boolean;
}

/** Counts for the bench and the docs' figures. */
export interface NearCacheStats {
  hits: number;
  misses: number;
  /** Entries dropped because a change was reported, plus whole clears. */
  invalidations: number;
  /** Times the channel went down (the cache was cleared and bypassed). */
  outages: number;
}

/**
 * Decrypted connection records held in process memory, keyed by storage key, at most `maxBytes`
 * (estimated from the stored text), least recently used dropped first. An entry is served only
 * while the store's change channel is up: it is cleared when the channel drops and stays empty
 * until it is back. The channel is opened on the first lookup, not at construction, so a
 * manager that never calls `get` opens no extra connection.
 */
export class NearCache {
  readonly #entries = new Map<string, { value: Versioned<ConnectionRecord>; bytes: number }>();
  readonly #fills = new Map<string, Set<Fill>>();
  readonly #maxBytes: number;
  readonly #watch: (listener: (change: StoreChange) => void) => StopWatching;
  #bytes = 0;
  #up = false;
  /** Bumped on every clear: fills begun before it are void. */
  #epoch = 0;
  #stop: StopWatching | undefined;
  #closed = false;
  readonly stats: NearCacheStats = { hits: 0, misses: 0, invalidations: 0, outages: 0 };

  constructor(watch: (listener: (change: StoreChange) => void) => StopWatching, maxBytes: number) {
    this.#watch = watch;
    this.#maxBytes = maxBytes;
  }

  /** Whether entries are being served: the change channel is up. */
  get serving(): boolean {
    return this.#up;
  }

  /** The cached record of `key`, while the channel is up. */
  lookup(key: string): Versioned<ConnectionRecord> | undefined {
    if (!this.#up) {
      this.#start();
      return undefined;
    }
    const entry = this.#entries.get(key);
    if (!entry) {
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    // Most recently used last: Map keeps insertion order, so eviction takes from the front.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Starts a read of `key` that may be cached by {@link fill}; `undefined` while not serving. */
  begin(key: string): Fill | undefined {
    if (!this.#up) return undefined;
    const fill: Fill = { key, epoch: this.#epoch, valid: true };
    let pending = this.#fills.get(key);
    if (!pending) this.#fills.set(key, (pending = new Set()));
    pending.add(fill);
    return fill;
  }

  /** Caches what `fill`'s read returned, unless a change voided it; `undefined`: nothing found. */
  fill(fill: Fill | undefined, value: Versioned<ConnectionRecord> | undefined): void {
    if (!fill) return;
    this.#end(fill);
    if (!value || !fill.valid || fill.epoch !== this.#epoch || !this.#up) return;
    const bytes = value.raw.length * 2 + ENTRY_OVERHEAD_BYTES;
    if (bytes > this.#maxBytes) return;
    this.#drop(fill.key);
    this.#entries.set(fill.key, { value, bytes });
    this.#bytes += bytes;
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.bytes;
    }
  }

  /** Drops `key` and voids the reads of it under way: this process wrote it, or another did. */
  invalidate(key: string): void {
    if (this.#drop(key)) this.stats.invalidations++;
    const pending = this.#fills.get(key);
    if (pending) for (const fill of pending) fill.valid = false;
  }

  /** What the store's channel reports. */
  readonly onChange = (change: StoreChange): void => {
    if (this.#closed) return;
    if (change.type === 'changed') {
      if (change.key !== undefined) this.invalidate(change.key);
      else this.#clear();
      return;
    }
    // Up or down, the cache starts empty: what was missed while down is unknown.
    this.#clear();
    if (change.type === 'down' && this.#up) this.stats.outages++;
    this.#up = change.type === 'up';
  };

  /** Stops watching; nothing is served afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#up = false;
    this.#clear();
    await this.#stop?.();
  }

  #start(): void {
    if (this.#stop || this.#closed) return;
    try {
      this.#stop = this.#watch(this.onChange);
    } catch {
      // An adapter whose watch throws (against its contract) leaves the cache bypassed for good.
      this.#stop = async () => {};
    }
  }

  #end(fill: Fill): void {
    const pending = this.#fills.get(fill.key);
    pending?.delete(fill);
    if (pending?.size === 0) this.#fills.delete(fill.key);
  }

  #drop(key: string): boolean {
    const entry = this.#entries.get(key);
    if (!entry) return false;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
    return true;
  }

  #clear(): void {
    if (this.#entries.size > 0) this.stats.invalidations++;
    this.#entries.clear();
    this.#bytes = 0;
    this.#epoch++;
  }
}

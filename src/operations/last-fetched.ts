import type { Logger } from '../model/connection.js';
import { storedConnectionShape } from '../store/connection-shape.js';
import type { VersionedStore } from '../store/versioned-store.js';

/**
 * Past this many connections fetched within one interval, the oldest are forgotten (at worst one
 * extra write each): the memory of recent writes stays bounded whatever the number in use.
 */
const MAX_REMEMBERED = 250_000;
/** Longest a noted fetch waits before it is written. */
const MAX_FLUSH_DELAY_MS = 1_000;
/** Writes of one flush in flight at once: enough to overlap round trips, few enough to leave the store to `get`. */
const FLUSH_CONCURRENCY = 4;

/**
 * Persists `last_fetched_at` at most once per interval per connection, off the caller's path.
 *
 * A `get` only notes the time in memory (a map insert); the writes are batched: noted times are
 * coalesced per connection (the latest wins) and written by a timer (unref'd, so it never keeps a
 * process alive) a moment later, or when the manager closes. Writing within the `get` itself, even
 * unawaited, made the first `get` of each connection each minute pay for a second round trip and
 * a re-encode of the record, and raced the write of refreshed credentials.
 *
 * Each write is a compare-and-swap of the record exactly as stored — sealed secrets stay sealed,
 * under whatever key sealed them — re-read on every attempt, so it can never put back an older
 * sealed blob (a concurrent key rotation or refresh wins, and the timestamp is applied on top of
 * it). A failed write is logged, never thrown: no rejection escapes from background work.
 */
export class LastFetchedWriter {
  readonly #records: VersionedStore;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #flushDelayMs: number;
  /** When each connection last had a write queued, oldest first (re-noting moves a key to the end). */
  readonly #notedAt = new Map<string, number>();
  /** What the next flush writes: connection key → fetch time. */
  #queued = new Map<string, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The flush under way, if any; flushes run one after another. */
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(records: VersionedStore, logger: Logger, intervalMs: number) {
    this.#records = records;
    this.#logger = logger;
    this.#intervalMs = intervalMs;
    // An interval shorter than the delay asks for prompt writes: honour it.
    this.#flushDelayMs = Math.min(intervalMs, MAX_FLUSH_DELAY_MS);
  }

  /** Records that `key` was fetched at `now`; queues a write if none was queued within the interval. */
  note(key: string, now: number): void {
    if (this.#closed) return;
    const last = this.#notedAt.get(key);
    if (last !== undefined && now - last < this.#intervalMs) return;
    this.#notedAt.delete(key);
    this.#forgetStale(now);
    this.#notedAt.set(key, now);
    this.#queued.set(key, now);
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        // flush() never rejects: each write's failure is logged (and a throwing logger caught).
        void this.flush();
      }, this.#flushDelayMs);
      this.#timer.unref?.();
    }
  }

  /** The connection is gone: nothing queued for it is written. */
  forget(key: string): void {
    this.#notedAt.delete(key);
    this.#queued.delete(key);
  }

  /** Writes everything queued so far; resolves when it is written (or the failures logged). Never rejects. */
  flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const batch = this.#queued;
    this.#queued = new Map();
    this.#flushing = this.#flushing.then(() => this.#write(batch));
    return this.#flushing;
  }

  /** Writes what is queued and stops taking notes (before the store closes). */
  async settle(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  /** Drops the oldest remembered times once they no longer limit anything, or once there are too many. */
  #forgetStale(now: number): void {
    for (const [key, at] of this.#notedAt) {
      if (now - at < this.#intervalMs && this.#notedAt.size < MAX_REMEMBERED) return;
      this.#notedAt.delete(key);
    }
  }

  async #write(batch: Map<string, number>): Promise<void> {
    if (batch.size === 0) return;
    const keys = batch.keys();
    const worker = async (): Promise<void> => {
      for (let next = keys.next(); !next.done; next = keys.next()) {
        await this.#writeOne(next.value, batch.get(next.value) as number);
      }
    };
    await Promise.all(Array.from({ length: Math.min(FLUSH_CONCURRENCY, batch.size) }, worker));
  }

  async #writeOne(key: string, fetchedAtMs: number): Promise<void> {
    const fetchedAt = new Date(fetchedAtMs).toISOString();
    try {
      await this.#records.update(key, storedConnectionShape, (record) =>
        // Absent (deleted meanwhile): not recreated. Already as recent (another process): left alone.
        record && !(typeof record.last_fetched_at === 'string' && record.last_fetched_at >= fetchedAt)
          ? { ...record, last_fetched_at: fetchedAt }
          : undefined,
      );
    } catch (error) {
      try {
        this.#logger.warn('latchkey: could not persist last_fetched_at', {
          key,
          error: error instanceof Error ? error.message : String(error),
        });
      } catch {
        // A logger that throws must not turn bookkeeping into an unhandled rejection.
      }
    }
  }
}

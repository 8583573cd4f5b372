import type { Logger } from '../model/connection.js';
import type { StoredConnection } from '../store/connection-records.js';
import type { VersionedStore } from '../store/versioned-store.js';

/** Past this many connections the memory of recent writes starts over rather than grow. */
const MAX_REMEMBERED = 100_000;

/**
 * Persists `last_fetched_at` at most once per interval per connection, off the caller's path: a
 * `get` never waits for it, and a failed write is logged, never thrown.
 */
export class LastFetchedWriter {
  readonly #records: VersionedStore;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #writtenAt = new Map<string, number>();
  readonly #pending = new Set<Promise<unknown>>();

  constructor(records: VersionedStore, logger: Logger, intervalMs: number) {
    this.#records = records;
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  note(key: string, now: number): void {
    const last = this.#writtenAt.get(key);
    if (last !== undefined && now - last < this.#intervalMs) return;
    if (this.#writtenAt.size >= MAX_REMEMBERED) this.#writtenAt.clear();
    this.#writtenAt.set(key, now);
    const fetchedAt = new Date(now).toISOString();
    const write = this.#records
      // The stored form is enough (sealed secrets stay sealed): no decrypt or re-encrypt for a timestamp.
      .update<StoredConnection>(key, (record) => (record ? { ...record, last_fetched_at: fetchedAt } : undefined))
      .catch((error: unknown) =>
        this.#logger.warn('latchkey: could not persist last_fetched_at', { error: (error as Error).message }),
      )
      .finally(() => this.#pending.delete(write));
    this.#pending.add(write);
  }

  forget(key: string): void {
    this.#writtenAt.delete(key);
  }

  /** Waits for the writes under way (before the store closes). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }
}

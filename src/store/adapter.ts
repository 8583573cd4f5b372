import type Keyv from 'keyv';

/**
 * What Latchkey needs from storage: a Keyv instance for the records, plus the two things Keyv
 * lacks — an atomic compare-and-swap (so no writer ever overwrites a newer record with an older
 * one) and a lock with an owner and a lease (so two processes do not spend one refresh token
 * twice). Each adapter in `adapters/` implements this over one backend.
 *
 * Records are stored as Keyv serializes them; `compareAndSwap` compares that serialized text, so
 * the adapters need not know the record format.
 */
export interface StorageAdapter {
  /** Short backend name, e.g. `postgres`. */
  readonly name: string;
  /** Holds the records under un-prefixed keys; use it for plain reads and iteration. */
  readonly keyv: Keyv;
  /** The stored serialized text of `key`, or `undefined` when absent. */
  readRaw(key: string): Promise<string | undefined>;
  /**
   * Atomically writes `next` if `key` currently holds exactly `expected` (`undefined`: only if
   * absent). Returns whether it wrote.
   */
  compareAndSwap(key: string, expected: string | undefined, next: string): Promise<boolean>;
  /** Atomically deletes `key` if it holds exactly `expected`. Returns whether it deleted. */
  compareAndDelete(key: string, expected: string): Promise<boolean>;
  readonly locks: LockStore;
  /** Releases connections and handles. The adapter is unusable afterwards. */
  close(): Promise<void>;
}

/**
 * Named locks with an owner and a lease. A lock whose lease ran out may be taken by another owner;
 * `release` only removes a lock its caller still owns, so a holder that outlived its lease cannot
 * release someone else's lock.
 */
export interface LockStore {
  /** Takes `name` for `owner` unless another owner holds an unexpired lease. */
  tryAcquire(name: string, owner: string, leaseMs: number): Promise<boolean>;
  /** Removes `name` if `owner` holds it. Returns whether it did. */
  release(name: string, owner: string): Promise<boolean>;
}

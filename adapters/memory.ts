import Keyv from 'keyv';
import type { LockStore, StorageAdapter } from '../src/store/adapter.js';

/** The adapter's name, as `StorageAdapter.name` reports it. */
export const name = 'memory';

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /** Milliseconds clock for lock leases; defaults to `Date.now`. */
  now?: () => number;
}

/**
 * Keeps connections in this process's memory: the default when no store is given, and the store
 * for tests and demos. Everything is lost when the process exits. Values are stored serialized, so
 * a caller can never mutate a stored record through an object it was handed.
 *
 * @example
 * ```ts
 * import { ConnectionManager } from 'latchkey';
 * import { memoryStore } from 'latchkey/adapters/memory';
 * const manager = new ConnectionManager({ store: memoryStore(), integrations });
 * ```
 */
export function memoryStore(options: MemoryStoreOptions = {}): StorageAdapter {
  const now = options.now ?? Date.now;
  const records = new Map<string, string>();
  const keyv = new Keyv({ store: records, namespace: '', useKeyPrefix: false, throwOnErrors: true });
  keyv.on('error', () => {});

  // Every operation below runs synchronously between two awaits, which is what makes it atomic
  // within the single process that can see this Map.
  const held = new Map<string, { owner: string; expiresAt: number }>();
  const locks: LockStore = {
    async tryAcquire(lockName, owner, leaseMs) {
      const current = held.get(lockName);
      if (current && current.owner !== owner && current.expiresAt > now()) return false;
      held.set(lockName, { owner, expiresAt: now() + leaseMs });
      return true;
    },
    async release(lockName, owner) {
      if (held.get(lockName)?.owner !== owner) return false;
      held.delete(lockName);
      return true;
    },
  };

  return {
    name,
    keyv,
    locks,
    async readRaw(key) {
      return records.get(key);
    },
    async compareAndSwap(key, expected, next) {
      if (records.get(key) !== expected) return false;
      records.set(key, next);
      return true;
    },
    async compareAndDelete(key, expected) {
      if (records.get(key) !== expected) return false;
      return records.delete(key);
    },
    async close() {
      records.clear();
      held.clear();
    },
  };
}

export default memoryStore;

import type { StorageAdapter } from '../store/adapter.js';
import type { NearCache } from './near-cache.js';

/**
 * The store as a manager with a near cache uses it: each write through it drops the written key
 * from this process's cache when the write returns (whatever its outcome), and voids reads of
 * that key under way, so this process never serves a record it replaced itself — without waiting
 * for its own notification, which SQLite never sends to the connection that wrote. Closing it
 * stops the cache's channel first.
 */
export function invalidatingStore(store: StorageAdapter, cache: NearCache): StorageAdapter {
  const settled = <T>(key: string, write: Promise<T>): Promise<T> => write.finally(() => cache.invalidate(key));
  return {
    name: store.name,
    get: (key) => store.get(key),
    insert: (key, value, options) => settled(key, store.insert(key, value, options)),
    replace: (key, expected, next, options) => settled(key, store.replace(key, expected, next, options)),
    delete: (key, expected) => settled(key, store.delete(key, expected)),
    scan: (prefix, page) => store.scan(prefix, page),
    findConnections: (query) => store.findConnections(query),
    dueForAttention: (before, page) => store.dueForAttention(before, page),
    increment: (name, by) => store.increment(name, by),
    locks: store.locks,
    ...(store.onError && { onError: store.onError.bind(store) }),
    ...(store.classifyError && { classifyError: store.classifyError.bind(store) }),
    ...(store.watch && { watch: store.watch.bind(store) }),
    close: async () => {
      await cache.close();
      await store.close();
    },
  };
}

import type {
  AttentionCursor,
  ConnectionIndex,
  ConnectionQuery,
  LockStore,
  StorageAdapter,
  StoredEntry,
  StoreChange,
} from '../src/store/adapter.js';
import { type OpenStoreOptions, urlSettings } from '../src/store/from-url.js';

/** The adapter's name, as `StorageAdapter.name` reports it. */
export const name = 'memory';

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /** Milliseconds clock for lock leases and entry expiry; defaults to `Date.now`. */
  now?: () => number;
}

interface Entry {
  value: string;
  expiresAt?: number;
  index?: ConnectionIndex;
}

/** First position in sorted `items` whose element is not less than `probe`. */
function lowerBound<T>(items: readonly T[], probe: T, less: (a: T, b: T) => boolean): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (less(items[middle]!, probe)) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** A sorted array kept sorted through inserts and removals (appends, the common case, are O(1)). */
class SortedList<T> {
  readonly items: T[] = [];
  constructor(readonly less: (a: T, b: T) => boolean) {}

  add(item: T): void {
    const last = this.items[this.items.length - 1];
    if (last === undefined || this.less(last, item)) this.items.push(item);
    else this.items.splice(lowerBound(this.items, item, this.less), 0, item);
  }

  remove(item: T): void {
    const at = lowerBound(this.items, item, this.less);
    const found = this.items[at];
    if (found !== undefined && !this.less(found, item) && !this.less(item, found)) this.items.splice(at, 1);
  }

  /** Position of the first element greater than `probe`. */
  after(probe: T): number {
    let low = 0;
    let high = this.items.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.less(probe, this.items[middle]!)) high = middle;
      else low = middle + 1;
    }
    return low;
  }
}

type Due = [attentionAt: number, key: string];
const byId = (a: number, b: number) => a < b;
const byAttention = (a: Due, b: Due) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);

/**
 * Keeps connections in this process's memory: the default when no store is given, and the store
 * for tests and demos. Everything is lost when the process exits. Values are stored as text, so a
 * caller can never mutate a stored record through an object it was handed; the indexes a SQL
 * store keeps in columns are kept here as sorted arrays and maps, so listing and the refresh
 * schedule cost O(result) here too.
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
  let closed = false;
  const entries = new Map<string, Entry>();
  /** All keys in order, rebuilt on the first scan after a key was added or removed. */
  let sortedKeys: string[] | undefined;
  const ids = new SortedList<number>(byId);
  const keyOfId = new Map<number, string>();
  const idsByIntegration = new Map<string, SortedList<number>>();
  const keysByConnectionId = new Map<string, Set<string>>();
  const attention = new SortedList<Due>(byAttention);

  const assertOpen = () => {
    if (closed) throw new Error('the memory store is closed');
  };
  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= now()) {
      drop(key);
      return undefined;
    }
    return entry;
  };
  const unindex = (key: string, index: ConnectionIndex) => {
    ids.remove(index.id);
    keyOfId.delete(index.id);
    idsByIntegration.get(index.providerConfigKey)?.remove(index.id);
    keysByConnectionId.get(index.connectionId)?.delete(key);
    if (index.attentionAt !== null) attention.remove([index.attentionAt, key]);
  };
  const reindex = (key: string, index: ConnectionIndex) => {
    ids.add(index.id);
    keyOfId.set(index.id, key);
    let integration = idsByIntegration.get(index.providerConfigKey);
    if (!integration) idsByIntegration.set(index.providerConfigKey, (integration = new SortedList(byId)));
    integration.add(index.id);
    let sameId = keysByConnectionId.get(index.connectionId);
    if (!sameId) keysByConnectionId.set(index.connectionId, (sameId = new Set()));
    sameId.add(key);
    if (index.attentionAt !== null) attention.add([index.attentionAt, key]);
  };
  const store = (key: string, entry: Entry, previous: Entry | undefined) => {
    if (!previous) sortedKeys = undefined;
    if (entry.index || !previous) {
      if (previous?.index) unindex(key, previous.index);
      if (entry.index) reindex(key, entry.index);
    } else {
      // A write without an index keeps the entry's index as it was.
      entry.index = previous.index;
    }
    entries.set(key, entry);
  };
  const drop = (key: string) => {
    const entry = entries.get(key);
    if (!entry) return;
    if (entry.index) unindex(key, entry.index);
    entries.delete(key);
    sortedKeys = undefined;
  };
  const matches = (index: ConnectionIndex, query: ConnectionQuery, search: string | undefined) =>
    (query.connectionId === undefined || index.connectionId === query.connectionId) &&
    (query.providerConfigKeys === undefined || query.providerConfigKeys.includes(index.providerConfigKey)) &&
    (query.endUserId === undefined || index.endUserId === query.endUserId) &&
    (query.tags === undefined || Object.entries(query.tags).every(([k, v]) => index.tags[k] === v)) &&
    (search === undefined ||
      index.connectionId.toLowerCase().includes(search) ||
      (index.endUserId?.toLowerCase().includes(search) ?? false) ||
      (index.endUserEmail?.toLowerCase().includes(search) ?? false));

  /** Candidate ids for a query, ascending, from the narrowest index that applies. */
  const candidateIds = (query: ConnectionQuery): Iterable<number> => {
    if (query.connectionId !== undefined) {
      const found = [...(keysByConnectionId.get(query.connectionId) ?? [])].map((key) => entries.get(key)!.index!.id);
      return found.sort((a, b) => a - b);
    }
    if (query.providerConfigKeys?.length === 1) return idsByIntegration.get(query.providerConfigKeys[0]!)?.items ?? [];
    return ids.items;
  };

  const locksHeld = new Map<string, { owner: string; expiresAt: number }>();
  const locks: LockStore = {
    async tryAcquire(lockName, owner, leaseMs) {
      assertOpen();
      const current = locksHeld.get(lockName);
      if (current && current.owner !== owner && current.expiresAt > now()) return false;
      locksHeld.set(lockName, { owner, expiresAt: now() + leaseMs });
      return true;
    },
    async claim(lockName, owner, leaseMs) {
      assertOpen();
      const current = locksHeld.get(lockName);
      if (current && current.owner !== owner && current.expiresAt > now()) return 'held';
      locksHeld.set(lockName, { owner, expiresAt: now() + leaseMs });
      return current && current.owner !== owner ? 'lapsed' : 'free';
    },
    async release(lockName, owner) {
      assertOpen();
      if (locksHeld.get(lockName)?.owner !== owner) return false;
      locksHeld.delete(lockName);
      return true;
    },
  };
  const counters = new Map<string, number>();
  const watchers = new Set<(change: StoreChange) => void>();
  const announce = (key: string) => {
    for (const watcher of watchers) watcher({ type: 'changed', key });
  };

  // Every operation below runs synchronously between two awaits, which is what makes it atomic
  // within the single process that can see these maps.
  return {
    name,
    locks,
    async get(key) {
      assertOpen();
      return live(key)?.value;
    },
    async insert(key, value, writeOptions = {}) {
      assertOpen();
      if (live(key)) return false;
      store(key, { value, expiresAt: writeOptions.expiresAt, index: writeOptions.index }, undefined);
      announce(key);
      return true;
    },
    async replace(key, expected, next, writeOptions = {}) {
      assertOpen();
      const current = live(key);
      if (current?.value !== expected) return false;
      store(key, { value: next, expiresAt: current.expiresAt, index: writeOptions.index }, current);
      announce(key);
      return true;
    },
    async delete(key, expected) {
      assertOpen();
      const current = live(key);
      if (!current || (expected !== undefined && current.value !== expected)) return false;
      drop(key);
      announce(key);
      return true;
    },
    async scan(prefix, page) {
      assertOpen();
      sortedKeys ??= [...entries.keys()].sort();
      const keys = sortedKeys;
      let at = lowerBound(
        keys,
        page.after !== undefined && page.after >= prefix ? page.after : prefix,
        (a, b) => a < b,
      );
      if (page.after !== undefined && keys[at] === page.after) at++;
      const found: StoredEntry[] = [];
      for (; at < keys.length && found.length < page.limit; at++) {
        const key = keys[at]!;
        if (!key.startsWith(prefix)) break;
        const entry = live(key);
        if (entry) found.push({ key, value: entry.value });
      }
      return found;
    },
    async findConnections(query) {
      assertOpen();
      const search = query.search ? query.search.toLowerCase() : undefined;
      const candidates = candidateIds(query);
      const list = Array.isArray(candidates) ? (candidates as number[]) : [...candidates];
      // Ids are integers, so "greater than afterId" is "at least afterId + 1"; a fractional
      // cursor is refused above this layer. Descending walks the same list from the other end.
      const step = query.order === 'desc' ? -1 : 1;
      let at =
        step === 1
          ? query.afterId === undefined
            ? 0
            : lowerBound(list, query.afterId + 1, byId)
          : (query.afterId === undefined ? list.length : lowerBound(list, query.afterId, byId)) - 1;
      const found: StoredEntry[] = [];
      const current = now();
      for (; at >= 0 && at < list.length && found.length < query.limit; at += step) {
        const key = keyOfId.get(list[at]!);
        // Read without purging: dropping an expired entry here would shift the array being walked.
        const stored = key === undefined ? undefined : entries.get(key);
        const entry = stored?.expiresAt !== undefined && stored.expiresAt <= current ? undefined : stored;
        if (key !== undefined && entry?.index && matches(entry.index, query, search)) {
          found.push({ key, value: entry.value });
        }
      }
      return found;
    },
    async dueForAttention(before: number, page: { after?: AttentionCursor; limit: number }) {
      assertOpen();
      let at = page.after === undefined ? 0 : attention.after([page.after.attentionAt, page.after.key]);
      const found: Array<{ key: string; attentionAt: number }> = [];
      for (; at < attention.items.length && found.length < page.limit; at++) {
        const [attentionAt, key] = attention.items[at]!;
        if (attentionAt > before) break;
        found.push({ key, attentionAt });
      }
      return found;
    },
    async increment(counter, by = 1) {
      assertOpen();
      const next = (counters.get(counter) ?? 0) + by;
      counters.set(counter, next);
      return next;
    },
    // Every writer is in this process, so the channel is up from the start and never drops.
    watch(listener) {
      const watcher = (change: StoreChange) => listener(change);
      watchers.add(watcher);
      watcher({ type: 'up' });
      return async () => {
        watchers.delete(watcher);
      };
    },
    async close() {
      closed = true;
      entries.clear();
      locksHeld.clear();
      watchers.clear();
    },
  };
}

/** Opens the store for `memory` or `memory:` (see `openStore` in `latchkey/adapters/url`). */
export function fromUrl(_url: string, options: OpenStoreOptions): StorageAdapter {
  urlSettings({}, options.settings);
  return memoryStore();
}

export default memoryStore;

import { ConcurrentModificationError, StorageError } from '../model/errors.js';
import type { ConnectionIndex, StorageAdapter } from './adapter.js';

/** A value together with the exact stored text it was read from: the token for compare-and-swap. */
export interface Versioned<T> {
  value: T;
  raw: string;
}

const MAX_UPDATE_ATTEMPTS = 20;
/** Entries per backend round trip when walking a prefix. */
const SCAN_PAGE = 500;

/** What a read-modify-write needs: versioned reads and conditional writes. */
export interface SwapTarget<T> {
  read(key: string): Promise<Versioned<T> | undefined>;
  insert(key: string, value: T): Promise<Versioned<T> | undefined>;
  replace(key: string, previous: Versioned<T>, value: T): Promise<Versioned<T> | undefined>;
}

/** Options of a versioned write. */
export interface VersionedWriteOptions {
  /** Time to live: the entry reads as absent afterwards (pending connect flows). */
  ttlMs?: number;
  /** The connection record's index fields (see {@link ConnectionIndex}). */
  index?: ConnectionIndex;
}

/**
 * The one compare-and-swap retry loop: read, let `change` decide the next value (or `undefined` to
 * write nothing), write it only if nothing changed since the read, and start over when another
 * writer got there first. Bounded, so a key that never stops changing ends in a typed error.
 */
export async function updateWithRetries<T>(
  target: SwapTarget<T>,
  key: string,
  change: (current: T | undefined) => T | undefined,
): Promise<Versioned<T> | undefined> {
  for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
    const current = await target.read(key);
    const next = change(current?.value);
    if (next === undefined) return current;
    const written = current ? await target.replace(key, current, next) : await target.insert(key, next);
    if (written) return written;
  }
  throw new ConcurrentModificationError(`Gave up updating ${key} after ${MAX_UPDATE_ATTEMPTS} conflicting writes`);
}

/**
 * Latchkey's codec: plain JSON, no reviver (Keyv's default reviver inspects every string and was
 * half the cost of an in-memory read). Entries written by earlier versions through Keyv's
 * serializer (`{"value":…,"expires":…}`) still decode: an object whose only fields are `value`
 * and `expires` is such an envelope (no record of Latchkey's has that shape).
 */
export function decodeStored<T>(key: string, raw: string): T {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (error) {
    throw new StorageError(`Stored record ${key} is unreadable`, { cause: error, transient: false });
  }
  if (isKeyvEnvelope(data)) return data.value as T;
  return data as T;
}

function isKeyvEnvelope(data: unknown): data is { value: unknown } {
  if (data === null || typeof data !== 'object' || Array.isArray(data) || !('value' in data)) return false;
  return Object.keys(data).every((field) => field === 'value' || field === 'expires');
}

/**
 * Typed, optimistic-concurrency access to an adapter: every write names the version it replaces,
 * so concurrent writers never lose each other's updates silently.
 */
export class VersionedStore {
  readonly #adapter: StorageAdapter;
  readonly #now: () => number;

  constructor(adapter: StorageAdapter, now: () => number = Date.now) {
    this.#adapter = adapter;
    this.#now = now;
  }

  async read<T>(key: string): Promise<Versioned<T> | undefined> {
    const raw = await this.#adapter.get(key);
    if (raw === undefined) return undefined;
    return { value: decodeStored<T>(key, raw), raw };
  }

  /** Writes `value` only if `key` is absent. */
  async insert<T>(key: string, value: T, options: VersionedWriteOptions = {}): Promise<Versioned<T> | undefined> {
    const raw = JSON.stringify(value);
    const expiresAt = options.ttlMs === undefined ? undefined : this.#now() + options.ttlMs;
    const written = await this.#adapter.insert(key, raw, { expiresAt, index: options.index });
    return written ? { value, raw } : undefined;
  }

  /** Writes `value` only if `key` still holds `previous`. */
  async replace<T>(
    key: string,
    previous: { raw: string },
    value: T,
    options: VersionedWriteOptions = {},
  ): Promise<Versioned<T> | undefined> {
    const raw = JSON.stringify(value);
    const written = await this.#adapter.replace(key, previous.raw, raw, { index: options.index });
    return written ? { value, raw } : undefined;
  }

  async remove(key: string, previous: { raw: string }): Promise<boolean> {
    return this.#adapter.delete(key, previous.raw);
  }

  /**
   * Read-modify-write with retries. `change` gets the current value (or `undefined`) and returns
   * the next one, or `undefined` to write nothing. Returns what is stored afterwards.
   */
  update<T>(key: string, change: (current: T | undefined) => T | undefined): Promise<Versioned<T> | undefined> {
    return updateWithRetries(
      {
        read: (k) => this.read<T>(k),
        insert: (k, value) => this.insert(k, value),
        replace: (k, previous, value) => this.replace(k, previous, value),
      },
      key,
      change,
    );
  }

  /**
   * Every stored entry whose key starts with `prefix`, in key order, fetched a page at a time
   * (keyset paging in the backend), so a walk of the whole store never holds it all at once.
   */
  async *entries<T>(prefix: string): AsyncGenerator<[string, T]> {
    let after: string | undefined;
    for (;;) {
      const page = await this.#adapter.scan(prefix, { after, limit: SCAN_PAGE });
      for (const { key, value } of page) yield [key, decodeStored<T>(key, value)];
      if (page.length < SCAN_PAGE) return;
      after = page[page.length - 1]!.key;
    }
  }
}

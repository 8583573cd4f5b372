import { ConcurrentModificationError, StorageError } from '../model/errors.js';
import type { StorageAdapter } from './adapter.js';
import { toStorageError } from './guarded-adapter.js';

/** A value together with the exact stored text it was read from: the token for compare-and-swap. */
export interface Versioned<T> {
  value: T;
  raw: string;
}

const MAX_UPDATE_ATTEMPTS = 20;

/** What a read-modify-write needs: versioned reads and conditional writes. */
export interface SwapTarget<T> {
  read(key: string): Promise<Versioned<T> | undefined>;
  insert(key: string, value: T): Promise<Versioned<T> | undefined>;
  replace(key: string, previous: Versioned<T>, value: T): Promise<Versioned<T> | undefined>;
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
 * Typed, optimistic-concurrency access to an adapter: every write names the version it replaces,
 * so concurrent writers never lose each other's updates silently.
 */
export class VersionedStore {
  readonly #adapter: StorageAdapter;

  constructor(adapter: StorageAdapter) {
    this.#adapter = adapter;
  }

  async read<T>(key: string): Promise<Versioned<T> | undefined> {
    const raw = await this.#adapter.readRaw(key);
    if (raw === undefined) return undefined;
    const { value, expires } = await this.#decode<T>(key, raw);
    // Past its Keyv TTL: treated as absent (Keyv's iterator deletes it on the next pass).
    if (typeof expires === 'number' && expires <= Date.now()) return undefined;
    return { value, raw };
  }

  /** Writes `value` only if `key` is absent; with `ttlMs`, Keyv expires it. */
  async insert<T>(key: string, value: T, ttlMs?: number): Promise<Versioned<T> | undefined> {
    const raw = await this.#encode(value, ttlMs === undefined ? undefined : Date.now() + ttlMs);
    return (await this.#adapter.compareAndSwap(key, undefined, raw)) ? { value, raw } : undefined;
  }

  /** Writes `value` only if `key` still holds `previous`. */
  async replace<T>(key: string, previous: { raw: string }, value: T): Promise<Versioned<T> | undefined> {
    const raw = await this.#encode(value);
    return (await this.#adapter.compareAndSwap(key, previous.raw, raw)) ? { value, raw } : undefined;
  }

  async remove(key: string, previous: { raw: string }): Promise<boolean> {
    return this.#adapter.compareAndDelete(key, previous.raw);
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

  /** Every stored entry whose key starts with `prefix`. */
  async *entries<T>(prefix: string): AsyncGenerator<[string, T]> {
    const iterate = this.#adapter.keyv.iterator;
    if (typeof iterate !== 'function') {
      throw new StorageError(`The ${this.#adapter.name} adapter's Keyv store cannot be iterated`);
    }
    const iterator = (iterate.call(this.#adapter.keyv, undefined) as AsyncIterable<[string, T]>)[
      Symbol.asyncIterator
    ]();
    for (;;) {
      let step: IteratorResult<[string, T]>;
      try {
        step = await iterator.next();
      } catch (error) {
        throw toStorageError(error, this.#adapter.name, 'list records');
      }
      if (step.done) return;
      const [key, value] = step.value;
      if (key.startsWith(prefix)) yield [key, value];
    }
  }

  async #encode(value: unknown, expires?: number): Promise<string> {
    const raw = await this.#adapter.keyv.serialize?.({ value, expires });
    if (typeof raw !== 'string') throw new StorageError('The Keyv serializer must produce a string');
    return raw;
  }

  async #decode<T>(key: string, raw: string): Promise<{ value: T; expires: unknown }> {
    try {
      const data = (await this.#adapter.keyv.deserialize?.(raw)) as { value?: T; expires?: unknown } | undefined;
      if (data?.value === undefined) throw new Error('empty');
      return { value: data.value, expires: data.expires };
    } catch (error) {
      throw new StorageError(`Stored record ${key} is unreadable`, { cause: error });
    }
  }
}

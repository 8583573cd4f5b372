import { ConcurrentModificationError, MalformedRecordError, StorageError } from '../model/errors.js';
import type { ConnectionIndex, StorageAdapter } from './adapter.js';

/**
 * What a stored value must look like to be used as a `T`: a cheap check (a few `typeof`s, run on
 * every read, hot path included) and, on failure, the field at fault for the report. Full
 * validation happens where data enters (create, upsert, the API); this catches what did not enter
 * that way (an older build's record, a hand edit).
 */
export interface Shape<T> {
  is(data: unknown): data is T;
  /** The field at fault in `data`, which {@link Shape.is} refused. */
  problem(data: unknown): string;
}

/** Told about each malformed record a walk skipped. */
export type MalformedReporter = (error: MalformedRecordError) => void;

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
export function decodeStored(key: string, raw: string): unknown {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (error) {
    throw new StorageError(`Stored record ${key} is unreadable`, { cause: error, transient: false });
  }
  return isKeyvEnvelope(data) ? data.value : data;
}

/** A stored value decoded and checked against its shape; a {@link MalformedRecordError} naming the key and field otherwise. */
export function decodeAs<T>(key: string, raw: string, shape: Shape<T>): T {
  const data = decodeStored(key, raw);
  if (shape.is(data)) return data;
  throw new MalformedRecordError(key, shape.problem(data));
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
  readonly #onMalformed: MalformedReporter | undefined;

  /** `onMalformed`: where walks ({@link entries}) report a record they skip; without it, the walk throws. */
  constructor(adapter: StorageAdapter, now: () => number = Date.now, onMalformed?: MalformedReporter) {
    this.#adapter = adapter;
    this.#now = now;
    this.#onMalformed = onMalformed;
  }

  /** The value at `key` checked against `shape`; a malformed one throws {@link MalformedRecordError}. */
  async read<T>(key: string, shape: Shape<T>): Promise<Versioned<T> | undefined> {
    const raw = await this.#adapter.get(key);
    if (raw === undefined) return undefined;
    return { value: decodeAs(key, raw, shape), raw };
  }

  /** Reports a record a walk skips, or throws when nobody listens. */
  reportMalformed(error: MalformedRecordError): void {
    if (!this.#onMalformed) throw error;
    this.#onMalformed(error);
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
  update<T>(
    key: string,
    shape: Shape<T>,
    change: (current: T | undefined) => T | undefined,
  ): Promise<Versioned<T> | undefined> {
    return updateWithRetries(
      {
        read: (k) => this.read(k, shape),
        insert: (k, value) => this.insert(k, value),
        replace: (k, previous, value) => this.replace(k, previous, value),
      },
      key,
      change,
    );
  }

  /**
   * Every stored entry whose key starts with `prefix`, in key order, fetched a page at a time
   * (keyset paging in the backend), so a walk of the whole store never holds it all at once. A
   * malformed entry is skipped and reported (see the constructor's `onMalformed`).
   */
  async *entries<T>(prefix: string, shape: Shape<T>): AsyncGenerator<[string, T]> {
    let after: string | undefined;
    for (;;) {
      const page = await this.#adapter.scan(prefix, { after, limit: SCAN_PAGE });
      for (const { key, value } of page) {
        let decoded: T;
        try {
          decoded = decodeAs(key, value, shape);
        } catch (error) {
          if (!(error instanceof MalformedRecordError)) throw error;
          this.reportMalformed(error);
          continue;
        }
        yield [key, decoded];
      }
      if (page.length < SCAN_PAGE) return;
      after = page[page.length - 1]!.key;
    }
  }
}

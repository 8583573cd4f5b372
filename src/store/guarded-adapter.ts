import type { Logger } from '../model/connection.js';
import { LatchkeyError, StorageError } from '../model/errors.js';
import type { StorageAdapter } from './adapter.js';
import { errorCode, errorMessage } from './network-errors.js';

/** A driver's message, with any credentials in a connection string taken out. */
export function driverMessage(error: unknown): string {
  return errorMessage(error).replace(/\/\/[^/@\s]*@/g, '//***@');
}

/**
 * Translates any failure of a store into a {@link StorageError}; Latchkey's own errors pass
 * through. Whether it may pass is the adapter's call (its `classifyError`): the guard knows no
 * driver.
 */
export function toStorageError(error: unknown, adapter: StorageAdapter, action: string): unknown {
  if (error instanceof LatchkeyError) return error;
  const code = errorCode(error);
  let transient = false;
  try {
    transient = adapter.classifyError?.(error) === 'transient';
  } catch {
    // A classifier that throws leaves the failure permanent rather than losing it.
  }
  const detail = driverMessage(error) || code || 'unknown error';
  return new StorageError(
    `The ${adapter.name} store could not ${action}: ${detail}${code && !detail.includes(code) ? ` (${code})` : ''}` +
      (transient ? '; this may pass, retry later' : ''),
    { cause: error, transient },
  );
}

/**
 * The adapter as the manager uses it: every failure is a typed {@link StorageError} (never a raw
 * `ECONNREFUSED` or `SQLITE_BUSY`), and failures nobody awaits (the adapter's `onError`) go to
 * the logger.
 */
export function guardAdapter(adapter: StorageAdapter, logger: Logger): StorageAdapter {
  const guard =
    <A extends unknown[], R>(action: string, run: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await run(...args);
      } catch (error) {
        throw toStorageError(error, adapter, action);
      }
    };
  adapter.onError?.((error: unknown) => {
    logger.warn('latchkey: the store reported an error', {
      adapter: adapter.name,
      error: driverMessage(error),
      code: errorCode(error),
    });
  });
  const claim = adapter.locks.claim?.bind(adapter.locks);
  return {
    name: adapter.name,
    get: guard('read a record', (key) => adapter.get(key)),
    insert: guard('write a record', (key, value, options) => adapter.insert(key, value, options)),
    replace: guard('write a record', (key, expected, next, options) => adapter.replace(key, expected, next, options)),
    delete: guard('delete a record', (key, expected) => adapter.delete(key, expected)),
    scan: guard('list records', (prefix, page) => adapter.scan(prefix, page)),
    findConnections: guard('list connections', (query) => adapter.findConnections(query)),
    dueForAttention: guard('list due connections', (before, page) => adapter.dueForAttention(before, page)),
    increment: guard('allocate an id', (name, by) => adapter.increment(name, by)),
    locks: {
      tryAcquire: guard('take a refresh lock', (name, owner, leaseMs) =>
        adapter.locks.tryAcquire(name, owner, leaseMs),
      ),
      release: guard('release a refresh lock', (name, owner) => adapter.locks.release(name, owner)),
      ...(claim && { claim: guard('take a refresh lock', claim) }),
    },
    close: guard('close', () => adapter.close()),
    ...(adapter.watch && { watch: adapter.watch.bind(adapter) }),
  };
}

import type { Logger } from '../model/connection.js';
import { LatchkeyError, StorageError } from '../model/errors.js';
import type { StorageAdapter } from './adapter.js';

/** Driver error codes after which a later retry may succeed. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);
const TRANSIENT_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|The client is offline|Socket closed unexpectedly|Connection timeout|Disconnects client|Redis client is not connected/i;
/**
 * Redis (and Valkey) error replies that pass: a server still loading its data after a restart, a
 * script running long, a replica promoted or a failover under way.
 */
const TRANSIENT_REPLIES = /^(LOADING|BUSY|TRYAGAIN|MASTERDOWN|READONLY|CLUSTERDOWN|NOREPLICAS)\b/;

/** The driver's error code (`ECONNREFUSED`, `SQLITE_BUSY`, a SQLSTATE), if it has one. */
function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  // AggregateError from a dual-stack connect: the first inner error's code.
  const inner = (error as { errors?: unknown[] } | undefined)?.errors?.[0];
  return inner === undefined ? undefined : codeOf(inner);
}

/** A driver's message, with any credentials in a connection string taken out. */
export function driverMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\/\/[^/@\s]*@/g, '//***@');
}

/** Translates any failure of a store into a {@link StorageError}; Latchkey's own errors pass through. */
export function toStorageError(error: unknown, adapterName: string, action: string): unknown {
  if (error instanceof LatchkeyError) return error;
  const code = codeOf(error);
  const transient =
    (code !== undefined && (TRANSIENT_CODES.has(code) || code.startsWith('08'))) ||
    TRANSIENT_MESSAGES.test(driverMessage(error)) ||
    TRANSIENT_REPLIES.test(driverMessage(error));
  const detail = driverMessage(error) || code || 'unknown error';
  return new StorageError(
    `The ${adapterName} store could not ${action}: ${detail}${code && !detail.includes(code) ? ` (${code})` : ''}` +
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
        throw toStorageError(error, adapter.name, action);
      }
    };
  adapter.onError?.((error: unknown) => {
    logger.warn('latchkey: the store reported an error', {
      adapter: adapter.name,
      error: driverMessage(error),
      code: codeOf(error),
    });
  });
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
    },
    close: guard('close', () => adapter.close()),
  };
}

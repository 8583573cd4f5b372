import KeyvSqlite from '@keyv/sqlite';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Keyv from 'keyv';
import { StorageError } from '../src/model/errors.js';
import type { StorageAdapter } from '../src/store/adapter.js';
import { assertTableName, createSqlAdapter } from '../src/store/sql-adapter.js';

/** The adapter's name, as `StorageAdapter.name` reports it. */
export const name = 'sqlite';

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions {
  /** Path of the database file (created if missing), or `:memory:`. */
  path: string;
  /** Table for connection records; locks live in `<table>_locks`. Default `latchkey`. */
  table?: string;
  /** How long a statement waits for another process's write lock. Default 5000 ms. */
  busyTimeoutMs?: number;
}

/**
 * Stores connections in a SQLite file through `@keyv/sqlite`. Several processes may share the
 * file: compare-and-swap and refresh locks are single statements, serialized by SQLite's own
 * write lock.
 *
 * @example
 * ```ts
 * import { sqliteStore } from 'latchkey/adapters/sqlite';
 * const manager = new ConnectionManager({ store: sqliteStore('./latchkey.db'), integrations });
 * ```
 */
export function sqliteStore(pathOrOptions: string | SqliteStoreOptions): StorageAdapter {
  const options = typeof pathOrOptions === 'string' ? { path: pathOrOptions } : pathOrOptions;
  const table = assertTableName(options.table ?? 'latchkey');
  if (options.path !== ':memory:') assertUsablePath(options.path);
  const store = new KeyvSqlite({
    uri: `sqlite://${options.path}`,
    table,
    keySize: 2048,
    busyTimeout: options.busyTimeoutMs ?? 5000,
    iterationLimit: 500,
  });
  const keyv = new Keyv({ store, namespace: '', useKeyPrefix: false, throwOnErrors: true });
  // Never an unhandled 'error' event; the manager adds a listener that logs them.
  keyv.on('error', () => {});
  const query = (sql: string, params: unknown[]) =>
    store.query(sql, ...params) as Promise<Array<Record<string, unknown>>>;
  // WAL lets readers proceed while another connection writes; the setting sticks to the file.
  // Switched on first use (a failure is surfaced by that call and tried again by the next).
  // secure_delete (per connection) zeroes what a delete or an update frees, so a plaintext record
  // rewritten sealed (encryption turned on, a key rotated) does not survive in free pages.
  let walReady: Promise<void> | undefined;
  const ensureWal = () =>
    (walReady ??= (options.path === ':memory:' ? Promise.resolve() : enableWal(query))
      .then(() => query('PRAGMA secure_delete = ON', []))
      .then(() => undefined)
      .catch((error: unknown) => {
        walReady = undefined;
        throw error;
      }));

  return createSqlAdapter({
    name,
    keyv,
    table,
    dialect: { nowMs: `CAST(unixepoch('subsec') * 1000 AS INTEGER)` },
    query: async (sql, params) => {
      await ensureWal();
      return query(sql, params);
    },
    readRaw: async (key) => (await store.get(key)) as string | undefined,
    close: () => store.disconnect(),
  });
}

/**
 * Refuses, synchronously, a path SQLite could not open: the driver would otherwise fail in the
 * background with nobody awaiting it, an unhandled rejection that ends the process.
 */
function assertUsablePath(path: string): void {
  const directory = dirname(resolve(path));
  try {
    if (!statSync(directory).isDirectory()) throw new Error(`${directory} is not a directory`);
    accessSync(directory, constants.R_OK | constants.W_OK);
    if (existsSync(path)) accessSync(path, constants.R_OK | constants.W_OK);
  } catch (error) {
    throw new StorageError(
      `sqliteStore cannot open ${path}: ${(error as Error).message}. Create the directory, or give a path the process may write.`,
      { cause: error, transient: false },
    );
  }
}

/**
 * Switches the file to WAL once. Changing the journal mode needs the file to itself, and SQLite
 * answers SQLITE_BUSY at once, without its busy timeout, while another process has it open — so
 * the mode is read first (a file already in WAL needs nothing) and a busy answer is retried.
 */
async function enableWal(query: (sql: string, params: unknown[]) => Promise<Array<Record<string, unknown>>>) {
  for (let attempt = 1; ; attempt++) {
    try {
      const [current] = await query('PRAGMA journal_mode', []);
      if (String(current?.journal_mode).toLowerCase() !== 'wal') await query('PRAGMA journal_mode = WAL', []);
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt));
    }
  }
}

export default sqliteStore;

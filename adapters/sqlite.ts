import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import * as v from 'valibot';
import { InvalidRequestError, StorageError } from '../src/model/errors.js';
import type { ErrorClass, StorageAdapter } from '../src/store/adapter.js';
import { type OpenStoreOptions, urlSettings } from '../src/store/from-url.js';
import { errorCode } from '../src/store/network-errors.js';
import { loadDriver } from '../src/store/optional-driver.js';
import { assertTableName, createSqlAdapter, type SqlDialect, type SqlQuery } from '../src/store/sql-adapter.js';
import { defaultWatchTiming, keepWatching, type OpenChannel } from './internal/watch-loop.js';

/** The adapter's name, as `StorageAdapter.name` reports it. */
export const name = 'sqlite';

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions {
  /** Path of the database file (created if missing), or `:memory:`. */
  path: string;
  /** Table for connection records; locks live in `<table>_locks`, counters in `<table>_counters`. Default `latchkey`. */
  table?: string;
  /** How long a statement waits for another process's write lock. Default 5000 ms. */
  busyTimeoutMs?: number;
  /**
   * How often a near cache (the manager's `nearCache`) asks the file whether another connection
   * committed (`PRAGMA data_version`): the longest a changed record stays cached. Default 50 ms.
   */
  changePollMs?: number;
}

/**
 * Stores connections in a SQLite file through `@keyv/sqlite` (an optional peer dependency; it
 * brings `sqlite3`). Several processes may share the file: every write is one
 * statement, serialized by SQLite's own write lock.
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
  let driver: Promise<{ query: SqlQuery; close: () => Promise<void> }> | undefined;
  let connected: { query: SqlQuery } | undefined;
  const errorListeners: Array<(error: unknown) => void> = [];
  const query: SqlQuery = (sql, params) =>
    connected ? connected.query(sql, params) : connect().then((d) => d.query(sql, params));
  const connect = () =>
    (driver ??= loadDriver(() => import('@keyv/sqlite'), name, '@keyv/sqlite').then(async ({ default: KeyvSqlite }) => {
      // Keyv's store owns the connection and creates the records table (key, value).
      const store = new KeyvSqlite({
        uri: `sqlite://${options.path}`,
        table,
        keySize: 2048,
        busyTimeout: options.busyTimeoutMs ?? 5000,
      });
      store.on('error', (error: unknown) => {
        for (const listener of errorListeners) listener(error);
      });
      const query: SqlQuery = (sql, params) => store.query(sql, ...params) as Promise<Array<Record<string, unknown>>>;
      // WAL lets readers proceed while another connection writes; the setting sticks to the file.
      // secure_delete (per connection) zeroes what a delete or an update frees, so a plaintext
      // record rewritten sealed (encryption turned on, a key rotated) does not survive in free pages.
      if (options.path !== ':memory:') await enableWal(query);
      await query('PRAGMA secure_delete = ON', []);
      return { query, close: () => store.disconnect() };
    })).then(
      (ready) => (connected = ready),
      (error: unknown) => {
        // A failure is surfaced by the call that met it, and tried again by the next.
        driver = undefined;
        throw error;
      },
    );

  return createSqlAdapter({
    name,
    table,
    dialect: sqliteDialect(table),
    // Once connected, statements go straight to the driver.
    query,
    close: async () => {
      if (driver) await (await driver).close();
    },
    onError: (listener) => errorListeners.push(listener),
    classifyError,
    watch: (listener) => keepWatching(dataVersionPoll(query, options.changePollMs ?? 50), listener, defaultWatchTiming),
  });
}

/**
 * SQLite has no notifications, and the processes sharing a file share one machine: each poll
 * asks this store's own connection for `PRAGMA data_version`, which changes exactly when another
 * connection committed to the file since the last ask (this connection's own writes leave it as
 * it is; the near cache drops those itself). It says that something changed, not what: every
 * cached record is dropped then.
 */
function dataVersionPoll(query: SqlQuery, everyMs: number): OpenChannel {
  const version = async () => String((await query('PRAGMA data_version', []))[0]?.data_version);
  return async (changed, lost) => {
    let last = await version();
    let polling = false;
    const timer = setInterval(() => {
      if (polling) return;
      polling = true;
      version().then(
        (now) => {
          polling = false;
          if (now !== last) changed(undefined);
          last = now;
        },
        (error: unknown) => {
          polling = false;
          lost(error);
        },
      );
    }, everyMs);
    timer.unref?.();
    return { ping: () => Promise.resolve(), close: async () => clearInterval(timer) };
  };
}

/**
 * Another connection holds the file's write lock past the busy timeout (`SQLITE_BUSY`) or a
 * table lock (`SQLITE_LOCKED`): it passes once that writer is done. Anything else (a full disk, a
 * corrupt or read-only file) stays until someone acts.
 */
function classifyError(error: unknown): ErrorClass {
  const code = errorCode(error);
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' ? 'transient' : 'permanent';
}

function sqliteDialect(table: string): SqlDialect {
  return {
    nowMs: `CAST(unixepoch('subsec') * 1000 AS INTEGER)`,
    key: 'key',
    tagsType: 'TEXT',
    tagsMatch: (tags) => ({
      sql: Object.keys(tags)
        .map(() => `EXISTS (SELECT 1 FROM json_each(${table}.tags) AS tag WHERE tag.key = ? AND tag.value = ?)`)
        .join(' AND '),
      params: Object.entries(tags).flat(),
    }),
    async addColumns(query, t, columns) {
      const existing = new Set((await query(`PRAGMA table_info(${t})`, [])).map((row) => String(row.name)));
      for (const [column, type] of columns) {
        if (existing.has(column)) continue;
        // Another process may add it between the PRAGMA and here.
        await query(`ALTER TABLE ${t} ADD COLUMN ${column} ${type}`, []).catch((error: unknown) => {
          if (!/duplicate column/i.test(String((error as Error).message))) throw error;
        });
      }
    },
    // Index columns sit after the record's text in each row (added to Keyv's table), so a filter
    // read from the table walks every record's overflow pages; with every filter column in the
    // id-ordered index, a page is filtered in the index and only matching records are read.
    idIndex: 'conn_id, integration, connection_id, end_user_id, end_user_email, tags, search_text',
    extraIndexes: () => [],
  };
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
async function enableWal(query: SqlQuery) {
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

/**
 * Opens the store for `sqlite:<path>` (see `openStore` in `latchkey/adapters/url`). The path is
 * what follows `sqlite:`, less a leading `//` (so `sqlite:///var/db.sqlite` is `/var/db.sqlite`
 * and `sqlite://data.db` is `data.db`, as Keyv writes them); a relative one starts at
 * `baseDirectory`. `sqlite::memory:` is an in-memory database. Settings: `table`, `busyTimeoutMs`.
 */
export function fromUrl(url: string, options: OpenStoreOptions): StorageAdapter {
  const settings = urlSettings(
    { table: v.optional(v.string()), busyTimeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))) },
    options.settings,
  );
  const path = url.slice(url.indexOf(':') + 1).replace(/^\/\//, '');
  if (!path) throw new InvalidRequestError('store sqlite:<path> needs a path', 'store');
  return sqliteStore({
    path: path === ':memory:' || isAbsolute(path) ? path : resolve(options.baseDirectory ?? process.cwd(), path),
    ...(settings.table !== undefined && { table: settings.table }),
    ...(settings.busyTimeoutMs !== undefined && { busyTimeoutMs: settings.busyTimeoutMs }),
  });
}

export default sqliteStore;

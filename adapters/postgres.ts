import type KeyvPostgresStore from '@keyv/postgres';
import type { Pool } from 'pg';
import * as v from 'valibot';
import type { ErrorClass, StorageAdapter } from '../src/store/adapter.js';
import { type OpenStoreOptions, urlSettings } from '../src/store/from-url.js';
import { errorCode, errorMessage, isSocketFailure } from '../src/store/network-errors.js';
import { loadDriver } from '../src/store/optional-driver.js';
import { assertTableName, createSqlAdapter, type SqlDialect, type SqlQuery } from '../src/store/sql-adapter.js';
import { changeChannel, postgresChannel } from './internal/postgres-watch.js';
import { defaultWatchTiming, keepWatching } from './internal/watch-loop.js';

/** The adapter's name, as `StorageAdapter.name` reports it. */
export const name = 'postgres';

/** Options of {@link postgresStore}. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` */
  uri: string;
  /** Table for connection records; locks live in `<table>_locks`, counters in `<table>_counters`. Default `latchkey`. */
  table?: string;
  /** Most connections this store's pool opens. Default 10. */
  maxConnections?: number;
  /**
   * How often the `LISTEN` connection of a near cache (the manager's `nearCache`) proves it still
   * works; a silent one is found within twice this. Default 5000 ms.
   */
  watchHeartbeatMs?: number;
}

/** SQLSTATEs of a lost race on `CREATE … IF NOT EXISTS` / `ADD COLUMN IF NOT EXISTS` between two processes. */
const CREATE_RACE = ['23505', '42710', '42P07', '42701', 'XX000'];

/**
 * Stores connections in PostgreSQL, in the table layout of `@keyv/postgres` (install it and `pg`:
 * they are optional peer dependencies). Any number of processes may share the database: every
 * write is one conditional statement, and refresh locks are rows with an owner and a lease timed
 * by the database clock — no session advisory lock pins a pooled connection for the length of a
 * token request.
 *
 * @example
 * ```ts
 * import { postgresStore } from 'latchkey/adapters/postgres';
 * const manager = new ConnectionManager({ store: postgresStore(process.env.DATABASE_URL!), integrations });
 * ```
 */
export function postgresStore(uriOrOptions: string | PostgresStoreOptions): StorageAdapter {
  const options = typeof uriOrOptions === 'string' ? { uri: uriOrOptions } : uriOrOptions;
  const table = assertTableName(options.table ?? 'latchkey');
  let driver: Promise<{ query: SqlQuery; close: () => Promise<void> }> | undefined;
  let connected: { query: SqlQuery } | undefined;
  let closed = false;
  const connect = () =>
    (driver ??= Promise.all([
      loadDriver(() => import('pg'), name, '@keyv/postgres pg'),
      loadDriver(() => import('@keyv/postgres'), name, '@keyv/postgres pg'),
    ]).then(([{ default: pg }, { default: KeyvPostgres }]) => {
      // @keyv/postgres keeps one module-wide pool per URI, so two stores on one database would
      // share (and close) each other's connections; this store owns its pool instead.
      const pool = new pg.Pool({ connectionString: options.uri, max: options.maxConnections ?? 10 });
      const store = new (ownPoolKeyvPostgres(KeyvPostgres))({ uri: options.uri, table, keySize: 2048, pool });
      // An idle client losing its connection (a database restart): reported, never thrown.
      pool.on('error', (error) => reportError(error));
      store.on('error', (error: unknown) => reportError(error));
      // pg's pool abandons the statements still waiting for a connection when it ends: they would
      // never settle (a graceful stop under load left calls pending; found by the chaos soak).
      // Those still waiting once the pool has ended are refused.
      const waiting = new Set<(error: Error) => void>();
      const query: SqlQuery = (sql, params) =>
        new Promise((resolve, reject) => {
          waiting.add(reject);
          store.query(toNumberedPlaceholders(sql), params).then(
            (rows) => {
              waiting.delete(reject);
              resolve(rows);
            },
            (error: unknown) => {
              waiting.delete(reject);
              reject(error as Error);
            },
          );
        });
      const close = async () => {
        await pool.end();
        for (const refuse of waiting) refuse(new Error('the store is closed'));
        waiting.clear();
      };
      return { query, close };
    })).then(
      (ready) => (connected = ready),
      (error: unknown) => {
        driver = undefined;
        throw error;
      },
    );
  const errorListeners: Array<(error: unknown) => void> = [];
  const reportError = (error: unknown) => {
    for (const listener of errorListeners) listener(error);
  };

  return createSqlAdapter({
    name,
    table,
    dialect: postgresDialect,
    query: (sql, params) => {
      if (closed) return Promise.reject(new Error('the store is closed'));
      // Once connected, statements go straight to the driver.
      return connected ? connected.query(sql, params) : connect().then((d) => d.query(sql, params));
    },
    close: async () => {
      closed = true;
      if (driver) await (await driver).close();
    },
    onError: (listener) => errorListeners.push(listener),
    classifyError,
    watch: (listener) =>
      keepWatching(
        postgresChannel(async () => {
          if (closed) throw new Error('the store is closed');
          const { default: pg } = await loadDriver(() => import('pg'), name, '@keyv/postgres pg');
          return new pg.Client({
            connectionString: options.uri,
            application_name: `latchkey-watch-${process.pid}`,
            keepAlive: true,
          });
        }, table),
        listener,
        {
          ...defaultWatchTiming,
          ...(options.watchHeartbeatMs !== undefined && { heartbeatMs: options.watchHeartbeatMs }),
        },
      ),
  });
}

/** SQLSTATEs that pass: a lost serialization race or deadlock, a full or restarting server. */
const TRANSIENT_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);
/** What `pg` says, without a code, when a connection drops or the pool cannot get one in time. */
const TRANSIENT_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection timeout/i;

/**
 * A refused or dropped connection, class 08 (connection exception) and the SQLSTATEs above pass;
 * anything else (a constraint, a permission, a syntax error) does not.
 */
function classifyError(error: unknown): ErrorClass {
  const code = errorCode(error);
  if (isSocketFailure(error)) return 'transient';
  if (code !== undefined && (TRANSIENT_SQLSTATES.has(code) || code.startsWith('08'))) return 'transient';
  return TRANSIENT_MESSAGES.test(errorMessage(error)) ? 'transient' : 'permanent';
}

/**
 * `@keyv/postgres` on a pool of this store's, creating its table on first use and again after a
 * failure: @keyv/postgres tries once, at construction, so with the database not up yet the table
 * would never exist.
 */
function ownPoolKeyvPostgres(KeyvPostgres: typeof KeyvPostgresStore) {
  return class OwnPoolKeyvPostgres extends KeyvPostgres {
    #tableReady: Promise<void> | undefined;

    constructor(options: ConstructorParameters<typeof KeyvPostgres>[0] & { pool: Pool }) {
      super(options);
    }

    #ensureTable(): Promise<void> {
      const { pool, table, keySize } = this.opts as { pool: Pool; table: string; keySize: number };
      this.#tableReady ??= pool
        .query(`CREATE TABLE IF NOT EXISTS ${table}(key VARCHAR(${Number(keySize)}) PRIMARY KEY, value TEXT )`)
        .then(
          () => undefined,
          (error: unknown) => {
            if (CREATE_RACE.includes((error as { code?: string }).code ?? '')) return;
            this.#tableReady = undefined;
            throw error;
          },
        );
      return this.#tableReady;
    }

    override async connect() {
      const { pool } = this.opts as { pool: Pool };
      return async (sql: string, values?: unknown[]) => {
        await this.#ensureTable();
        return (await pool.query(sql, values)).rows;
      };
    }

    override async disconnect() {
      await (this.opts as { pool: Pool }).pool.end();
    }
  };
}

const postgresDialect: SqlDialect = {
  nowMs: `(extract(epoch from clock_timestamp()) * 1000)::bigint`,
  // The database's collation may order keys differently from JavaScript; "C" is byte order.
  key: 'key COLLATE "C"',
  tagsType: 'JSONB',
  tagsMatch: (tags) => ({ sql: 'tags @> ?::jsonb', params: [JSON.stringify(tags)] }),
  async addColumns(query, table, columns) {
    await query(
      `ALTER TABLE ${table} ${columns.map(([column, type]) => `ADD COLUMN IF NOT EXISTS ${column} ${type}`).join(', ')}`,
      [],
    ).catch((error: unknown) => {
      if (!CREATE_RACE.includes((error as { code?: string }).code ?? '')) throw error;
    });
  },
  extraIndexes: (table) => [
    `CREATE INDEX IF NOT EXISTS ${table}_by_key ON ${table} (key COLLATE "C")`,
    `CREATE INDEX IF NOT EXISTS ${table}_by_tags ON ${table} USING GIN (tags jsonb_path_ops) WHERE conn_id IS NOT NULL`,
  ],
  // Two processes racing CREATE … IF NOT EXISTS: the loser gets a unique violation on pg_type
  // (23505), "type already exists" (42710) or "relation already exists" (42P07).
  isCreateRace: (error) => CREATE_RACE.includes((error as { code?: string }).code ?? ''),
  // In the write's own statement, so the notification goes out on its commit and never without it.
  announce: (statement, table) =>
    `WITH changed AS (${statement}) SELECT key, pg_notify('${changeChannel(table)}', key) FROM changed`,
};

function toNumberedPlaceholders(sql: string): string {
  let index = 0;
  return sql.replace(/\?/g, () => `$${++index}`);
}

/**
 * Opens the store for `postgres://…` or `postgresql://…` (see `openStore` in
 * `latchkey/adapters/url`). Settings: `table`, `maxConnections`.
 */
export function fromUrl(url: string, options: OpenStoreOptions): StorageAdapter {
  const settings = urlSettings(
    { table: v.optional(v.string()), maxConnections: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))) },
    options.settings,
  );
  return postgresStore({
    uri: url,
    ...(settings.table !== undefined && { table: settings.table }),
    ...(settings.maxConnections !== undefined && { maxConnections: settings.maxConnections }),
  });
}

export default postgresStore;

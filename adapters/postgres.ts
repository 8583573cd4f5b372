import KeyvPostgres from '@keyv/postgres';
import Keyv from 'keyv';
import pg from 'pg';
import type { StorageAdapter } from '../src/store/adapter.js';
import { assertTableName, createSqlAdapter } from '../src/store/sql-adapter.js';

/** The adapter's name, as `StorageAdapter.name` reports it. */
export const name = 'postgres';

/** Options of {@link postgresStore}. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` */
  uri: string;
  /** Table for connection records; locks live in `<table>_locks`. Default `latchkey`. */
  table?: string;
  /** Most connections this store's pool opens. Default 10. */
  maxConnections?: number;
}

/**
 * Stores connections in PostgreSQL through `@keyv/postgres`. Any number of processes may share the
 * database: compare-and-swap is one conditional UPDATE, and refresh locks are rows with an owner
 * and a lease timed by the database clock — no session advisory lock pins a pooled connection for
 * the length of a token request.
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
  // @keyv/postgres keeps one module-wide pool per URI, so two stores on one database would share
  // (and close) each other's connections; this store owns its pool instead.
  const pool = new pg.Pool({ connectionString: options.uri, max: options.maxConnections ?? 10 });
  const poolQuery = async (sql: string, values?: unknown[]) => (await pool.query(sql, values)).rows;
  const store = new OwnPoolKeyvPostgres({ uri: options.uri, table, keySize: 2048, iterationLimit: 500, pool });
  const keyv = new Keyv({ store, namespace: '', useKeyPrefix: false, throwOnErrors: true });
  // Never an unhandled 'error' event; the manager adds a listener that logs them.
  keyv.on('error', () => {});
  // An idle client losing its connection (a database restart): reported, never thrown.
  pool.on('error', (error) => keyv.emit('error', error));

  return createSqlAdapter({
    name,
    keyv,
    table,
    dialect: {
      nowMs: `(extract(epoch from clock_timestamp()) * 1000)::bigint`,
      // Two processes racing CREATE TABLE IF NOT EXISTS: the loser gets a unique violation on
      // pg_type (23505), "type already exists" (42710) or "relation already exists" (42P07).
      isCreateRace: (error) => ['23505', '42710', '42P07'].includes((error as { code?: string }).code ?? ''),
    },
    query: async (sql, params) => {
      await store.ensureTable();
      return poolQuery(toNumberedPlaceholders(sql), params);
    },
    readRaw: async (key) => (await store.get(key)) as string | undefined,
    close: () => pool.end(),
  });
}

export default postgresStore;

class OwnPoolKeyvPostgres extends KeyvPostgres {
  /** Set once the records table exists; cleared after a failed attempt so the next call retries. */
  tableReady: Promise<void> | undefined;

  constructor(options: ConstructorParameters<typeof KeyvPostgres>[0] & { pool: pg.Pool }) {
    super(options);
  }

  /**
   * Creates the records table on first use and again after a failure. @keyv/postgres tries once,
   * at construction: with the database not up yet, the table would never exist.
   */
  ensureTable(): Promise<void> {
    const { pool, table, keySize } = this.opts as { pool: pg.Pool; table: string; keySize: number };
    this.tableReady ??= pool
      .query(`CREATE TABLE IF NOT EXISTS ${table}(key VARCHAR(${Number(keySize)}) PRIMARY KEY, value TEXT )`)
      .then(
        () => undefined,
        (error: unknown) => {
          // Two processes racing CREATE TABLE IF NOT EXISTS: the table exists either way.
          if (['23505', '42710', '42P07'].includes((error as { code?: string }).code ?? '')) return;
          this.tableReady = undefined;
          throw error;
        },
      );
    return this.tableReady;
  }

  override async connect() {
    const { pool } = this.opts as { pool: pg.Pool };
    return async (sql: string, values?: unknown[]) => {
      await this.ensureTable();
      return (await pool.query(sql, values)).rows;
    };
  }

  /**
   * @keyv/postgres's iterator ends quietly when a query fails, so `list` would answer an empty
   * page while the database is down; this one throws instead.
   */
  override async *iterator(namespace?: string): AsyncGenerator<string[]> {
    const { pool, table, iterationLimit } = this.opts as { pool: pg.Pool; table: string; iterationLimit?: number };
    const limit = Number(iterationLimit) || 500;
    const pattern = namespace ? `${namespace.replace(/[%_\\]/g, '\\$&')}:%` : '%';
    await this.ensureTable();
    let lastKey: string | null = null;
    for (;;) {
      const page: pg.QueryResult<{ key: string; value: string }> =
        lastKey === null
          ? await pool.query(`SELECT key, value FROM ${table} WHERE key LIKE $1 ORDER BY key LIMIT $2`, [
              pattern,
              limit,
            ])
          : await pool.query(`SELECT key, value FROM ${table} WHERE key LIKE $1 AND key > $2 ORDER BY key LIMIT $3`, [
              pattern,
              lastKey,
              limit,
            ]);
      const rows = page.rows;
      for (const row of rows) yield [row.key, row.value];
      if (rows.length < limit) return;
      lastKey = rows[rows.length - 1]!.key;
    }
  }

  override async disconnect() {
    await (this.opts as { pool: pg.Pool }).pool.end();
  }
}

function toNumberedPlaceholders(sql: string): string {
  let index = 0;
  return sql.replace(/\?/g, () => `$${++index}`);
}

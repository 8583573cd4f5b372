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
  pool.on('error', () => {});
  const poolQuery = async (sql: string, values?: unknown[]) => (await pool.query(sql, values)).rows;
  const store = new OwnPoolKeyvPostgres({ uri: options.uri, table, keySize: 2048, iterationLimit: 500, pool });
  const keyv = new Keyv({ store, namespace: '', useKeyPrefix: false, throwOnErrors: true });
  keyv.on('error', () => {});

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
      await store.ready;
      return poolQuery(toNumberedPlaceholders(sql), params);
    },
    readRaw: async (key) => (await store.get(key)) as string | undefined,
    close: () => pool.end(),
  });
}

export default postgresStore;

class OwnPoolKeyvPostgres extends KeyvPostgres {
  /** Resolves once Keyv has created its table. */
  readonly ready: Promise<unknown>;

  constructor(options: ConstructorParameters<typeof KeyvPostgres>[0] & { pool: pg.Pool }) {
    super(options);
    this.ready = this.query('SELECT 1');
  }

  override async connect() {
    const { pool } = this.opts as { pool: pg.Pool };
    return async (sql: string, values?: unknown[]) => (await pool.query(sql, values)).rows;
  }

  override async disconnect() {
    await (this.opts as { pool: pg.Pool }).pool.end();
  }
}

function toNumberedPlaceholders(sql: string): string {
  let index = 0;
  return sql.replace(/\?/g, () => `$${++index}`);
}

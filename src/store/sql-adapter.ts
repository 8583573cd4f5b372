import type Keyv from 'keyv';
import { InvalidRequestError } from '../model/errors.js';
import type { StorageAdapter } from './adapter.js';

/** Runs one SQL statement written with `?` placeholders and returns its rows. */
export type SqlQuery = (sql: string, params: unknown[]) => Promise<Array<Record<string, unknown>>>;

export interface SqlDialect {
  /** An SQL expression for the database's clock in epoch milliseconds, as an integer. */
  nowMs: string;
  /** SQLSTATE or message fragments that mean "someone else created it first" on `CREATE … IF NOT EXISTS`. */
  isCreateRace?: (error: unknown) => boolean;
}

export interface SqlAdapterParts {
  name: string;
  keyv: Keyv;
  /** The table Keyv keeps records in; the lock table is named after it. */
  table: string;
  dialect: SqlDialect;
  query: SqlQuery;
  readRaw: (key: string) => Promise<string | undefined>;
  close: () => Promise<void>;
}

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function assertTableName(table: string): string {
  if (!TABLE_NAME.test(table)) {
    throw new InvalidRequestError('table must be a plain SQL identifier (letters, digits, _)', 'table');
  }
  return table;
}

/**
 * Compare-and-swap and leased locks for SQL backends, written once for SQLite and Postgres. Both
 * run the same statements; the compare is part of the UPDATE's WHERE clause, so the database
 * performs it atomically with the write. Lease times come from the database clock, so processes
 * on machines with skewed clocks still agree on when a lease ends.
 */
export function createSqlAdapter(parts: SqlAdapterParts): StorageAdapter {
  const { table, query, dialect } = parts;
  const locks = `${table}_locks`;
  // Created on first use, not at construction: a database that starts after the app is not an
  // unhandled rejection, and a failed attempt is tried again on the next call.
  let ready: Promise<void> | undefined;
  const ensureReady = () =>
    (ready ??= query(
      `CREATE TABLE IF NOT EXISTS ${locks} (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at BIGINT NOT NULL)`,
      [],
    ).then(
      () => undefined,
      (error: unknown) => {
        if (dialect.isCreateRace?.(error)) return;
        ready = undefined;
        throw error;
      },
    ));
  let closing: Promise<void> | undefined;
  const run: SqlQuery = async (sql, params) => {
    await ensureReady();
    return query(sql, params);
  };

  return {
    name: parts.name,
    keyv: parts.keyv,
    readRaw: parts.readRaw,
    async compareAndSwap(key, expected, next) {
      const rows =
        expected === undefined
          ? await run(`INSERT INTO ${table} (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING RETURNING key`, [
              key,
              next,
            ])
          : await run(`UPDATE ${table} SET value = ? WHERE key = ? AND value = ? RETURNING key`, [next, key, expected]);
      return rows.length === 1;
    },
    async compareAndDelete(key, expected) {
      const rows = await run(`DELETE FROM ${table} WHERE key = ? AND value = ? RETURNING key`, [key, expected]);
      return rows.length === 1;
    },
    locks: {
      async tryAcquire(name, owner, leaseMs) {
        const rows = await run(
          `INSERT INTO ${locks} (name, owner, expires_at) VALUES (?, ?, ${dialect.nowMs} + ?)
           ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
           WHERE ${locks}.expires_at <= ${dialect.nowMs} OR ${locks}.owner = excluded.owner
           RETURNING owner`,
          [name, owner, Math.ceil(leaseMs)],
        );
        return rows.length === 1;
      },
      async release(name, owner) {
        const rows = await run(`DELETE FROM ${locks} WHERE name = ? AND owner = ? RETURNING name`, [name, owner]);
        return rows.length === 1;
      },
    },
    close: () => {
      closing ??= parts.close();
      return closing;
    },
  };
}

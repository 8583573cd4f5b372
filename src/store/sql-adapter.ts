import { InvalidRequestError } from '../model/errors.js';
import type { ConnectionIndex, ConnectionQuery, StorageAdapter, WriteOptions } from './adapter.js';

/** Runs one SQL statement written with `?` placeholders and returns its rows. */
export type SqlQuery = (sql: string, params: unknown[]) => Promise<Array<Record<string, unknown>>>;

/** Where SQLite and Postgres differ, as SQL fragments. */
export interface SqlDialect {
  /** An SQL expression for the database's clock in epoch milliseconds, as an integer. */
  nowMs: string;
  /** How `key` is compared and ordered so that the order is JavaScript's string order (`COLLATE "C"`). */
  key: string;
  /** Column type for the tags object. */
  tagsType: string;
  /** A condition that the row's tags hold every tag of the JSON parameter(s) it consumes. */
  tagsMatch(tags: Readonly<Record<string, string>>): { sql: string; params: unknown[] };
  /** Adds the index columns to Keyv's `(key, value)` table, where missing. */
  addColumns(query: SqlQuery, table: string, columns: ReadonlyArray<[string, string]>): Promise<void>;
  /** The columns of the id-ordered index that listing walks (default `conn_id`). */
  idIndex?: string;
  /** Extra indexes this dialect needs (Postgres: `key` in C order, GIN on tags). */
  extraIndexes(table: string): string[];
  /** SQLSTATE or message fragments that mean "someone else created it first" on `CREATE … IF NOT EXISTS`. */
  isCreateRace?: (error: unknown) => boolean;
  /**
   * A write statement (one that ends in `RETURNING key`) rewritten to also announce each key it
   * wrote to the adapter's `watch`ers of `table`, in the same transaction (Postgres: `pg_notify`).
   */
  announce?: (statement: string, table: string) => string;
}

export interface SqlAdapterParts {
  name: string;
  /** Keyv's table (`key`, `value`), which this adapter extends with index columns. */
  table: string;
  dialect: SqlDialect;
  /** Runs a statement once Keyv's table exists. */
  query: SqlQuery;
  close: () => Promise<void>;
  onError?: StorageAdapter['onError'];
  classifyError?: StorageAdapter['classifyError'];
  watch?: StorageAdapter['watch'];
}

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function assertTableName(table: string): string {
  if (!TABLE_NAME.test(table)) {
    throw new InvalidRequestError('table must be a plain SQL identifier (letters, digits, _)', 'table');
  }
  return table;
}

/** The index columns beside Keyv's `key` and `value`; `tags` gets the dialect's type. */
const COLUMNS: ReadonlyArray<[string, string]> = [
  ['expires_at', 'BIGINT'],
  ['conn_id', 'BIGINT'],
  ['integration', 'TEXT'],
  ['connection_id', 'TEXT'],
  ['end_user_id', 'TEXT'],
  ['end_user_email', 'TEXT'],
  ['tags', '<tags>'],
  ['attention_at', 'BIGINT'],
  ['search_text', 'TEXT'],
];

/** Expired flow states removed per write of a new one: housekeeping bounded per call. */
const PURGE_BATCH = 100;

function indexValues(index: ConnectionIndex): unknown[] {
  return [
    index.id,
    index.providerConfigKey,
    index.connectionId,
    index.endUserId ?? null,
    index.endUserEmail?.toLowerCase() ?? null,
    JSON.stringify(index.tags),
    index.attentionAt,
    searchText(index),
  ];
}

/**
 * What `search` looks in, lower-cased by JavaScript when written: SQLite's `lower()` folds ASCII
 * only and Postgres's depends on the database locale, so the store compares text folded once, the
 * way every adapter folds it. Ids hold no control characters, so a match never spans two fields.
 */
function searchText(index: ConnectionIndex): string {
  return [index.connectionId, index.endUserId ?? '', index.endUserEmail ?? ''].join('\n').toLowerCase();
}
const INDEX_COLUMNS = [
  'conn_id',
  'integration',
  'connection_id',
  'end_user_id',
  'end_user_email',
  'tags',
  'attention_at',
  'search_text',
];

/** `%…%` for LIKE, with the pattern's own wildcards escaped. */
function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, '\\$&')}%`;
}

/** The smallest string greater than every string starting with `prefix` (for a key range scan). */
function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/**
 * The storage contract for SQL backends, written once for SQLite and Postgres. Records stay in
 * Keyv's `(key, value)` table, which gains index columns (integration, connection id, end user,
 * tags, id, when credentials need attention, expiry) written in the same statement as the value,
 * so listing, lookups by id and the refresh schedule are range scans on indexes. Compares are
 * part of the UPDATE's WHERE clause, so the database performs them atomically with the write;
 * lease times come from the database clock, so processes with skewed clocks still agree.
 */
export function createSqlAdapter(parts: SqlAdapterParts): StorageAdapter {
  const { table, query, dialect } = parts;
  const locks = `${table}_locks`;
  const counters = `${table}_counters`;
  const key = dialect.key;
  const tagsType = dialect.tagsType;
  // Created on first use, not at construction: a database that starts after the app is not an
  // unhandled rejection, and a failed attempt is tried again on the next call.
  let ready: Promise<void> | undefined;
  const tolerateRace = (error: unknown) => {
    if (!dialect.isCreateRace?.(error)) throw error;
  };
  const prepare = async () => {
    await dialect.addColumns(
      query,
      table,
      COLUMNS.map(([column, type]) => [column, type === '<tags>' ? tagsType : type]),
    );
    const statements = [
      `CREATE TABLE IF NOT EXISTS ${locks} (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at BIGINT NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS ${counters} (name TEXT PRIMARY KEY, value BIGINT NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS ${table}_by_id ON ${table} (${dialect.idIndex ?? 'conn_id'}) WHERE conn_id IS NOT NULL`,
      `CREATE INDEX IF NOT EXISTS ${table}_by_integration ON ${table} (integration, conn_id) WHERE conn_id IS NOT NULL`,
      `CREATE INDEX IF NOT EXISTS ${table}_by_connection_id ON ${table} (connection_id) WHERE conn_id IS NOT NULL`,
      `CREATE INDEX IF NOT EXISTS ${table}_by_end_user ON ${table} (end_user_id, conn_id) WHERE end_user_id IS NOT NULL`,
      `CREATE INDEX IF NOT EXISTS ${table}_by_attention ON ${table} (attention_at, ${key}) WHERE attention_at IS NOT NULL`,
      `CREATE INDEX IF NOT EXISTS ${table}_by_expiry ON ${table} (expires_at) WHERE expires_at IS NOT NULL`,
      ...dialect.extraIndexes(table),
    ];
    for (const statement of statements) await query(statement, []).catch(tolerateRace);
  };
  let isReady = false;
  const ensureReady = () =>
    (ready ??= prepare().then(
      () => {
        isReady = true;
      },
      (error: unknown) => {
        ready = undefined;
        throw error;
      },
    ));
  // Once the schema is in place, statements go straight to the driver: no await on the hot path.
  const run: SqlQuery = (sql, params) => (isReady ? query(sql, params) : ensureReady().then(() => query(sql, params)));
  const live = `(expires_at IS NULL OR expires_at > ?)`;
  const insertColumns = ['key', 'value', 'expires_at', ...INDEX_COLUMNS];
  const announced = (statement: string) => dialect.announce?.(statement, table) ?? statement;
  const insertSql =
    announced(`INSERT INTO ${table} (${insertColumns.join(', ')}) VALUES (${insertColumns.map(() => '?').join(', ')})
     ON CONFLICT (key) DO UPDATE SET ${insertColumns
       .slice(1)
       .map((c) => `${c} = excluded.${c}`)
       .join(', ')}
     WHERE ${table}.expires_at IS NOT NULL AND ${table}.expires_at <= ? RETURNING key`);
  const replaceIndexedSql = announced(`UPDATE ${table} SET value = ?, ${INDEX_COLUMNS.map((c) => `${c} = ?`).join(', ')}
     WHERE key = ? AND value = ? AND ${live} RETURNING key`);
  const replaceSql = announced(`UPDATE ${table} SET value = ? WHERE key = ? AND value = ? AND ${live} RETURNING key`);
  const deleteSql = announced(`DELETE FROM ${table} WHERE key = ? AND ${live} RETURNING key`);
  const deleteExpectedSql = announced(`DELETE FROM ${table} WHERE key = ? AND value = ? AND ${live} RETURNING key`);
  const noIndex = INDEX_COLUMNS.map(() => null);

  const purgeExpired = (now: number) =>
    run(
      `DELETE FROM ${table} WHERE key IN (SELECT key FROM ${table} WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ${PURGE_BATCH})`,
      [now],
    );

  let closing: Promise<void> | undefined;
  return {
    name: parts.name,
    async get(k) {
      const rows = await run(`SELECT value FROM ${table} WHERE key = ? AND ${live}`, [k, Date.now()]);
      return rows.length === 0 ? undefined : String(rows[0]!.value);
    },
    async insert(k, value, options: WriteOptions = {}) {
      const now = Date.now();
      if (options.expiresAt !== undefined) await purgeExpired(now);
      const index = options.index ? indexValues(options.index) : noIndex;
      const rows = await run(insertSql, [k, value, options.expiresAt ?? null, ...index, now]);
      return rows.length === 1;
    },
    async replace(k, expected, next, options: WriteOptions = {}) {
      const rows = options.index
        ? await run(replaceIndexedSql, [next, ...indexValues(options.index), k, expected, Date.now()])
        : await run(replaceSql, [next, k, expected, Date.now()]);
      return rows.length === 1;
    },
    async delete(k, expected) {
      const rows =
        expected === undefined
          ? await run(deleteSql, [k, Date.now()])
          : await run(deleteExpectedSql, [k, expected, Date.now()]);
      return rows.length === 1;
    },
    async scan(prefix, page) {
      const where: string[] = [live];
      const params: unknown[] = [Date.now()];
      if (prefix !== '') {
        where.push(`${key} >= ?`, `${key} < ?`);
        params.push(prefix, prefixEnd(prefix));
      }
      if (page.after !== undefined) {
        where.push(`${key} > ?`);
        params.push(page.after);
      }
      const rows = await run(`SELECT key, value FROM ${table} WHERE ${where.join(' AND ')} ORDER BY ${key} LIMIT ?`, [
        ...params,
        page.limit,
      ]);
      return rows.map((row) => ({ key: String(row.key), value: String(row.value) }));
    },
    async findConnections(q: ConnectionQuery) {
      const where = ['conn_id IS NOT NULL'];
      const params: unknown[] = [];
      const descending = q.order === 'desc';
      if (q.afterId !== undefined) {
        where.push(descending ? 'conn_id < ?' : 'conn_id > ?');
        params.push(q.afterId);
      }
      if (q.connectionId !== undefined) {
        where.push('connection_id = ?');
        params.push(q.connectionId);
      }
      if (q.providerConfigKeys !== undefined) {
        if (q.providerConfigKeys.length === 0) return [];
        where.push(`integration IN (${q.providerConfigKeys.map(() => '?').join(', ')})`);
        params.push(...q.providerConfigKeys);
      }
      if (q.endUserId !== undefined) {
        where.push('end_user_id = ?');
        params.push(q.endUserId);
      }
      if (q.tags !== undefined && Object.keys(q.tags).length > 0) {
        const match = dialect.tagsMatch(q.tags);
        where.push(match.sql);
        params.push(...match.params);
      }
      if (q.search !== undefined && q.search !== '') {
        const pattern = containsPattern(q.search);
        where.push(`search_text LIKE ? ESCAPE '\\'`);
        params.push(pattern);
      }
      const order = descending ? 'DESC' : 'ASC';
      const rows = await run(
        `SELECT key, value FROM ${table} WHERE ${where.join(' AND ')} ORDER BY conn_id ${order} LIMIT ?`,
        [...params, q.limit],
      );
      return rows.map((row) => ({ key: String(row.key), value: String(row.value) }));
    },
    async dueForAttention(before, page) {
      const where = ['attention_at IS NOT NULL', 'attention_at <= ?'];
      const params: unknown[] = [before];
      if (page.after !== undefined) {
        where.push(`(attention_at > ? OR (attention_at = ? AND ${key} > ?))`);
        params.push(page.after.attentionAt, page.after.attentionAt, page.after.key);
      }
      const rows = await run(
        `SELECT key, attention_at FROM ${table} WHERE ${where.join(' AND ')} ORDER BY attention_at, ${key} LIMIT ?`,
        [...params, page.limit],
      );
      return rows.map((row) => ({ key: String(row.key), attentionAt: Number(row.attention_at) }));
    },
    async increment(name, by = 1) {
      const rows = await run(
        `INSERT INTO ${counters} (name, value) VALUES (?, ?)
         ON CONFLICT (name) DO UPDATE SET value = ${counters}.value + excluded.value RETURNING value`,
        [name, by],
      );
      return Number(rows[0]!.value);
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
      async claim(name, owner, leaseMs) {
        // Free, or the caller's own: the common case, in one statement.
        const lease = Math.ceil(leaseMs);
        const taken = await run(
          `INSERT INTO ${locks} (name, owner, expires_at) VALUES (?, ?, ${dialect.nowMs} + ?)
           ON CONFLICT (name) DO UPDATE SET expires_at = excluded.expires_at
           WHERE ${locks}.owner = excluded.owner RETURNING owner`,
          [name, owner, lease],
        );
        if (taken.length === 1) return 'free';
        // Another owner's: taken over only if its lease ran out, said so by the statement that took it.
        const lapsed = await run(
          `UPDATE ${locks} SET owner = ?, expires_at = ${dialect.nowMs} + ?
           WHERE name = ? AND owner <> ? AND expires_at <= ${dialect.nowMs} RETURNING owner`,
          [owner, lease, name, owner],
        );
        return lapsed.length === 1 ? 'lapsed' : 'held';
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
    ...(parts.onError && { onError: parts.onError }),
    ...(parts.classifyError && { classifyError: parts.classifyError }),
    ...(parts.watch && { watch: parts.watch }),
  };
}

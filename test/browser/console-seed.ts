/**
 * Fills a SQLite file with connection records in bulk, the way the adapter writes them (the
 * record's JSON and its index columns), in one transaction: 100,000 connections in seconds, where
 * 100,000 `create` calls would take minutes. The table must exist (create one connection first).
 */
import sqlite3 from 'sqlite3';

export const SEED_INTEGRATIONS = 10;
/** Every seeded secret contains this, so a scan for it finds any of them. */
export const SEED_SECRET_MARK = 'S3EDSECRETk9';
/** Seeded ids start here, after any connection the test created itself. */
export const SEED_FIRST_ID = 1_000_000;

export const seededIntegration = (i: number) => `keys-${i % SEED_INTEGRATIONS}`;
export const seededSecret = (i: number) => `ak-${i}-${SEED_SECRET_MARK}`;

export async function seedConnections(path: string, count: number, table = 'latchkey'): Promise<void> {
  const db = new sqlite3.Database(path);
  const run = (sql: string, params: unknown[] = []) =>
    new Promise<void>((resolve, reject) => db.run(sql, params, (error) => (error ? reject(error) : resolve())));
  try {
    await run('PRAGMA busy_timeout = 5000');
    await run('BEGIN');
    const statement = db.prepare(
      `INSERT INTO ${table} (key, value, expires_at, conn_id, integration, connection_id, end_user_id, end_user_email, tags, attention_at, search_text)
       VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, NULL, ?)`,
    );
    const now = new Date().toISOString();
    for (let i = 0; i < count; i++) {
      const id = SEED_FIRST_ID + i;
      const integration = seededIntegration(i);
      const connectionId = `customer-${i}`;
      const endUser = { id: `user-${i}`, email: `user${i}@example.com` };
      const tags = { region: i % 10 === 3 ? 'eu' : 'us' };
      const record = {
        connection_id: connectionId,
        provider_config_key: integration,
        provider: 'crm',
        credentials: { type: 'API_KEY', apiKey: seededSecret(i) },
        connection_config: {},
        metadata: { plan: i % 3 === 0 ? 'pro' : 'free' },
        tags,
        end_user: endUser,
        errors: [],
        created_at: now,
        updated_at: now,
        last_fetched_at: null,
        refresh: { failures: 0, exhausted: false },
        credentials_stored_at: now,
        id,
      };
      statement.run([
        `connection:${integration}:${connectionId}`,
        JSON.stringify(record),
        id,
        integration,
        connectionId,
        endUser.id,
        endUser.email,
        JSON.stringify(tags),
        [connectionId, endUser.id, endUser.email].join('\n').toLowerCase(),
      ]);
    }
    await new Promise<void>((resolve, reject) => statement.finalize((error) => (error ? reject(error) : resolve())));
    await run('COMMIT');
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

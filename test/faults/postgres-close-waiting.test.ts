import pg from 'pg';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { postgresStore } from '../../adapters/postgres.js';
import { type RunningPostgres, startPostgres } from '../support/postgres.js';

// Found by the chaos soak (docs/reliability.md): a process stopped gracefully on PostgreSQL exited
// with code 13, a call still waiting on a promise nothing could settle. pg's pool abandons the
// statements still waiting for a connection when it ends; the store now refuses them instead.

let postgres: RunningPostgres;
beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(async () => {
  await postgres?.stop();
});

it('a statement still waiting for a connection when the store closes is refused, not left pending', async () => {
  const uri = await postgres.createDatabase();
  const store = postgresStore({ uri, maxConnections: 1 });
  expect(await store.insert('k', 'v1')).toBe(true);

  // Another session takes the row: the store's one connection waits on it in a write.
  const locker = new pg.Client({ connectionString: uri });
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query(`SELECT key FROM latchkey WHERE key = 'k' FOR UPDATE`);
  const write = store.replace('k', 'v1', 'v2');
  const observer = new pg.Client({ connectionString: uri });
  await observer.connect();
  await vi.waitFor(
    async () => {
      const { rows } = await observer.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
      );
      expect((rows[0] as { n: number }).n).toBe(1);
    },
    { timeout: 15_000, interval: 20 },
  );
  await observer.end();

  // This one waits for the pool's only connection: it reaches the pool's queue within the
  // current turn (no I/O on the way), so one turn of the event loop later it is queued.
  const read = store.get('k').then(
    () => 'settled',
    (error: unknown) => error,
  );
  await new Promise((resolve) => setImmediate(resolve));
  const closing = store.close();
  await locker.query('ROLLBACK');
  await locker.end();
  expect(await write).toBe(true); // the write under way finished before the pool ended
  await closing;
  const outcome = await read; // before the fix: never settled
  expect(outcome).toBeInstanceOf(Error);
  expect((outcome as Error).message).toMatch(/closed/);
});

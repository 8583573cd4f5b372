import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it, vi } from 'vitest';
import { postgresStore } from '../../adapters/postgres.js';
import { ConnectionManager } from '../../src/index.js';
import type { StorageAdapter } from '../../src/store/adapter.js';
import { connectionKey } from '../../src/store/keys.js';
import { type RunningPostgres, startPostgres } from '../support/postgres.js';
import { type WebhookReceiver, startWebhookReceiver } from '../support/webhook-receiver.js';

// Found by the chaos soak on Postgres (docs/reliability.md): an `upsert` that returned had no
// webhook, and an entry stayed in the outbox, both from a process stopped gracefully. `close()`
// stopped the webhook sender before closing the store, and changes kept being stored in between:
// one that began after the sender stopped was stored with no webhook at all (nothing announced
// it); one under way when it stopped had its webhook held in the outbox, and the release that
// follows the change ran into the closed store, so the webhook waited for another process to find
// it after its hold (or, if none ran, for the next start).

const secret = 'whsec-0123456789abcdef';
const TABLE = 'latchkey';
let postgres: RunningPostgres;
let receiver: WebhookReceiver;
let uri: string;
const lockers: pg.Client[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(async () => {
  await postgres?.stop();
});
beforeEach(async () => {
  uri = await postgres.createDatabase();
  receiver = await startWebhookReceiver();
});
afterEach(async () => {
  for (const locker of lockers.splice(0)) await locker.end().catch(() => undefined);
  await receiver.close();
});

function manager(store: StorageAdapter = postgresStore(uri)) {
  return new ConnectionManager({
    store,
    integrations: { keys: { provider: 'keys', definition: { authMode: 'API_KEY' } } },
    // The real clock: a webhook still held would wait out its hold (60 s) before any sender sends it.
    clock: Date.now,
    logger: { warn: () => {}, error: () => {} },
    requireEncryption: false,
  });
}

const input = (connectionId: string, apiKey: string) => ({
  connectionId,
  providerConfigKey: 'keys',
  credentials: { type: 'API_KEY' as const, apiKey },
});

const operations = () =>
  receiver.received.map((webhook) => {
    const body = JSON.parse(webhook.raw) as { operation: string; connectionId: string };
    return `${body.operation} ${body.connectionId}`;
  });

/**
 * Another session takes the row of `connectionId` (`SELECT … FOR UPDATE` in an open transaction):
 * any write to it waits, for real, until the returned function ends that transaction (or, with
 * `endsAfterMs`, the database ends it).
 */
async function lockRow(connectionId: string, endsAfterMs?: number): Promise<() => Promise<void>> {
  const locker = new pg.Client({ connectionString: uri });
  lockers.push(locker);
  locker.on('error', () => {}); // the database ending the session (below) is expected
  await locker.connect();
  // The database itself ends a transaction left idle this long, and its lock with it.
  if (endsAfterMs !== undefined) await locker.query(`SET idle_in_transaction_session_timeout = ${endsAfterMs}`);
  await locker.query('BEGIN');
  await locker.query(`SELECT key FROM ${TABLE} WHERE key = $1 FOR UPDATE`, [connectionKey('keys', connectionId)]);
  return async () => {
    await locker.query('ROLLBACK').catch(() => undefined); // already ended by the database: fine
  };
}

/** Resolves once a statement of the database waits for a row lock (polled, with a deadline). */
async function aWriteWaitsForTheLock(): Promise<void> {
  const observer = new pg.Client({ connectionString: uri });
  await observer.connect();
  try {
    await vi.waitFor(
      async () => {
        const { rows } = await observer.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'
             AND pid <> pg_backend_pid() AND query LIKE '%UPDATE ${TABLE} SET%'`,
        );
        expect((rows[0] as { n: number }).n).toBe(1);
      },
      { timeout: 15_000, interval: 20 },
    );
  } finally {
    await observer.end();
  }
}

/** The outbox as stored: how many entries, and how many still held for their change. */
async function outbox(): Promise<{ entries: number; held: number }> {
  const store = postgresStore(uri);
  try {
    const rows = await store.scan('webhook:', { limit: 100 });
    return {
      entries: rows.length,
      held: rows.filter(({ value }) => 'held' in (JSON.parse(value) as object)).length,
    };
  } finally {
    await store.close();
  }
}

it('a change stored while close() runs has its webhook: in the outbox, released, sent by the next process', async () => {
  const first = manager();
  first.startWebhooks({ url: receiver.url, secret, pollIntervalMs: 200 });
  await first.create(input('conn', 'key-1'));
  await first.create(input('slow', 'key-1'));
  await vi.waitFor(() => expect(receiver.received).toHaveLength(2), { timeout: 10_000 });

  // close() flushes `last_fetched_at` before it closes the store; that write waits for a lock
  // another session holds, so the store stays open while the sender is stopped (a slow write).
  const unlock = await lockRow('slow');
  await first.get('slow', { providerConfigKey: 'keys' });
  const closing = first.close();
  await aWriteWaitsForTheLock();

  // Meanwhile this process stores a change: the store takes it, `upsert` returns.
  expect(await first.upsert(input('conn', 'key-2'))).toMatchObject({ credentials: { apiKey: 'key-2' } });
  await unlock();
  await closing;

  // Its webhook is in the outbox, released (not held for a minute): the next process sends it.
  expect(await outbox()).toEqual({ entries: 1, held: 0 });
  const next = manager();
  try {
    next.startWebhooks({ url: receiver.url, secret, pollIntervalMs: 200 });
    await vi.waitFor(() => expect(receiver.received).toHaveLength(3), { timeout: 10_000 });
    expect(operations()).toEqual(['creation conn', 'creation slow', 'override conn']);
  } finally {
    await next.close();
  }
});

it('close() waits for a change under way: its webhook is released before the store closes', async () => {
  const store = postgresStore(uri);
  const closeStore = store.close.bind(store);
  let storeClosing!: () => void;
  const storeClosed = new Promise<void>((resolve) => (storeClosing = resolve));
  store.close = () => {
    storeClosing();
    return closeStore();
  };
  const first = manager(store);
  first.startWebhooks({ url: receiver.url, secret, pollIntervalMs: 200 });
  await first.create(input('conn', 'key-1'));
  await vi.waitFor(() => expect(receiver.received).toHaveLength(1), { timeout: 10_000 });

  // The change is announced (its webhook held in the outbox), then its write waits for a lock
  // another session holds: a stalled write, which the database ends after 3 s by ending that
  // session (whatever close() does meanwhile).
  const unlock = await lockRow('conn', 3_000);
  const upsert = first.upsert(input('conn', 'key-2'));
  await aWriteWaitsForTheLock();
  const closing = first.close();
  // Before the fix, close() went on and closed the store with the write still waiting: the lock
  // ends then. Now close() waits for the change, and the lock ends with its session.
  await Promise.race([storeClosed, closing]);
  await unlock();
  expect(await upsert).toMatchObject({ credentials: { apiKey: 'key-2' } });
  await closing;

  // Released before the store closed (not held for a minute): the next process sends it at once.
  expect(await outbox()).toEqual({ entries: 1, held: 0 });
  const next = manager();
  try {
    next.startWebhooks({ url: receiver.url, secret, pollIntervalMs: 200 });
    await vi.waitFor(() => expect(receiver.received).toHaveLength(2), { timeout: 10_000 });
    expect(operations()).toEqual(['creation conn', 'override conn']);
  } finally {
    await next.close();
  }
});

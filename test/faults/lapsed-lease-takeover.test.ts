import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import { ConnectionManager } from '../../src/index.js';
import { captureLogs } from '../support/logs.js';
import { type SqliteHolder, startSqliteHolder } from './support/sqlite-holder.js';
import { type OneGrantServer, startOneGrantServer } from '../support/token-server.js';

// Found by the chaos soak (docs/reliability.md, SQLite seed 342209901): a process received the
// provider's answer to a refresh, then its renewals and its write of the new tokens waited behind
// another process's write lock until its lease ran out. When the lock was let go, another process
// took the lapsed lease and read the old refresh token before the first one's write landed,
// presented it again, and the provider revoked the grant.

const LEASE_MS = 3_000;
let server: OneGrantServer;
let holder: SqliteHolder | undefined;
let path: string;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

beforeEach(async () => {
  path = join(tmpdir(), `latchkey-lapsed-lease-${randomBytes(6).toString('hex')}.db`);
  server = await startOneGrantServer();
  process.on('unhandledRejection', onRejection);
});
afterEach(async () => {
  process.off('unhandledRejection', onRejection);
  rejections.length = 0;
  await holder?.stop();
  holder = undefined;
  await server.close();
  for (const suffix of ['', '-wal', '-shm']) await rm(`${path}${suffix}`, { force: true });
});

/** One app process with its own connection to the file. */
function manager(busyTimeoutMs: number, logger = captureLogs().logger) {
  return new ConnectionManager({
    store: sqliteStore({ path, busyTimeoutMs }),
    integrations: {
      crm: {
        provider: 'crm',
        clientId: server.clientId,
        clientSecret: server.clientSecret,
        definition: { authMode: 'OAUTH2', tokenUrl: server.url },
      },
    },
    http: { allowInsecureLoopback: true, timeoutMs: LEASE_MS / 2 },
    // Its own background retries are an hour apart: what lands the held write is the lock keeper.
    storageRetry: { initialDelayMs: 3_600_000, maxDelayMs: 3_600_000 },
    lock: { leaseMs: LEASE_MS, waitMs: 10_000 },
    logger,
    requireEncryption: false,
  });
}

/** Whether the refresh lock's lease has run out by the database's clock (read beside the writers). */
async function leaseLapsed(): Promise<boolean> {
  const db = new sqlite3.Database(path, sqlite3.OPEN_READONLY);
  try {
    const rows = await new Promise<Array<{ lapsed: number }>>((resolve, reject) =>
      db.all(
        `SELECT expires_at <= CAST(unixepoch('subsec') * 1000 AS INTEGER) AS lapsed FROM latchkey_locks`,
        (error, found: Array<{ lapsed: number }>) => (error ? reject(error) : resolve(found)),
      ),
    );
    return rows.length === 1 && rows[0]!.lapsed === 1;
  } finally {
    await new Promise((resolve) => db.close(resolve));
  }
}

const refreshTokenOf = (connection: { credentials: unknown }) =>
  (connection.credentials as { refresh_token?: string }).refresh_token;

async function storedRefreshToken(): Promise<string | undefined> {
  const reader = manager(5_000);
  try {
    return refreshTokenOf(await reader.get('conn', { refreshToken: true }));
  } finally {
    await reader.close();
  }
}

/**
 * The first process refreshes; the provider spends refresh-0 and, before answering, another
 * process takes the file's write lock, so every write of the first process (its renewals, its
 * write of refresh-1) waits for it. The lock is let go once the lease has run out.
 */
async function refreshWhileTheStoreStalls(first: ConnectionManager) {
  await first.create({
    connectionId: 'conn',
    providerConfigKey: 'crm',
    credentials: {
      type: 'OAUTH2',
      access_token: 'access-0',
      refresh_token: 'refresh-0',
      expires_at: new Date(Date.now() + 60_000).toISOString(), // within the margin: due
    },
  });
  holder = await startSqliteHolder(path);
  let held!: () => void;
  const lockHeld = new Promise<void>((resolve) => (held = resolve));
  server.beforeAnswer = async () => {
    server.beforeAnswer = async () => {};
    await holder!.hold();
    held();
  };
  const refreshing = first.get('conn', { refreshToken: true });
  await lockHeld;
  // Settled by the caller (it may resolve before the store answers again, from memory).
  refreshing.catch(() => undefined);
  await vi.waitFor(async () => expect(await leaseLapsed()).toBe(true), { timeout: 15_000, interval: 50 });
  return { refreshing };
}

it('gives a holder whose write failed behind the store outage time to store it before its lapsed lease is used', async () => {
  // Its writes fail busy at once: refresh-1 waits in memory, its lease runs out meanwhile.
  const first = manager(50);
  const { refreshing } = await refreshWhileTheStoreStalls(first);
  expect(refreshTokenOf(await refreshing)).toBe('refresh-1');
  await holder!.release();

  // Another process wants a token the moment the store answers again: it takes the lapsed lease,
  // and waits; meanwhile the first one finds its lock taken and stores refresh-1.
  const logs = captureLogs();
  const second = manager(5_000, logs.logger);
  const token = refreshTokenOf(await second.get('conn', { refreshToken: true }));
  expect(token).toBe('refresh-1');
  expect(logs.lines.filter((line) => line.includes('lapsed refresh lease'))).toEqual([
    expect.stringContaining('took over a lapsed refresh lease; waiting for its holder before refreshing'),
    expect.stringContaining('the previous holder of a lapsed refresh lease stored new credentials meanwhile'),
  ]);

  expect(server.presented.filter((presented) => presented === 'refresh-0')).toHaveLength(1);
  expect(server.revoked).toBe(false);
  await vi.waitFor(async () => expect(await storedRefreshToken()).not.toBe('refresh-0'), { timeout: 15_000 });
  await first.close();
  await second.close();
  expect(rejections).toEqual([]);
});

it('gives a holder whose write waits in the store for the outage to end time to land it before its lapsed lease is used', async () => {
  // Its writes wait behind the lock (SQLite's busy timeout is longer than the outage): no write
  // fails, as in the soak, and the lease runs out while refresh-1 waits to be written.
  const first = manager(20_000);
  const { refreshing } = await refreshWhileTheStoreStalls(first);
  await holder!.release();

  const second = manager(20_000);
  const token = refreshTokenOf(await second.get('conn', { refreshToken: true }));
  expect(token).not.toBe('refresh-0');
  expect(refreshTokenOf(await refreshing)).toBe('refresh-1');

  expect(server.presented.filter((presented) => presented === 'refresh-0')).toHaveLength(1);
  expect(server.revoked).toBe(false);
  expect(await storedRefreshToken()).not.toBe('refresh-0');
  await first.close();
  await second.close();
  expect(rejections).toEqual([]);
});

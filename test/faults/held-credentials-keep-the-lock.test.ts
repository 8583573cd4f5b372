import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import { ConnectionManager } from '../../src/index.js';
import { captureLogs } from '../support/logs.js';
import { type SqliteHolder, startSqliteHolder } from './support/sqlite-holder.js';
import { type OneGrantServer, startOneGrantServer } from '../support/token-server.js';

// Found by the chaos soak (docs/reliability.md): a process whose refreshed credentials the store
// refused held them in memory but released the refresh lock; another process then took the lock,
// read the spent refresh token from the store and presented it, and the provider revoked the grant.

const MINUTE = 60_000;
const now = Date.parse('2026-11-23T12:00:00.000Z');
let server: OneGrantServer;
let holder: SqliteHolder | undefined;
let path: string;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

beforeEach(async () => {
  path = join(tmpdir(), `latchkey-held-lock-${randomBytes(6).toString('hex')}.db`);
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

/** One app process; `retryMs` spaces its own background retries of a refused write. */
function manager(options: { retryMs: number; leaseMs: number; waitMs: number; busyTimeoutMs?: number }) {
  return new ConnectionManager({
    store: sqliteStore({ path, busyTimeoutMs: options.busyTimeoutMs ?? 2_000 }),
    integrations: {
      crm: {
        provider: 'crm',
        clientId: server.clientId,
        clientSecret: server.clientSecret,
        definition: { authMode: 'OAUTH2', tokenUrl: server.url },
      },
    },
    http: { allowInsecureLoopback: true, timeoutMs: options.leaseMs / 2 },
    storageRetry: { initialDelayMs: options.retryMs, maxDelayMs: options.retryMs },
    lock: { leaseMs: options.leaseMs, waitMs: options.waitMs },
    clock: () => now,
    logger: captureLogs().logger,
    requireEncryption: false,
  });
}

const refreshTokenOf = (connection: { credentials: unknown }) =>
  (connection.credentials as { refresh_token?: string }).refresh_token;

it('keeps the refresh lock while refreshed credentials wait in memory, so no other process spends the old token', async () => {
  // Its own retries are an hour apart: only the lock keeper writes the held credentials.
  const first = manager({ retryMs: 60 * MINUTE, leaseMs: 3_000, waitMs: 3_000, busyTimeoutMs: 20 });
  await first.create({
    connectionId: 'conn',
    providerConfigKey: 'crm',
    credentials: {
      type: 'OAUTH2',
      access_token: 'access-0',
      refresh_token: 'refresh-0',
      expires_at: new Date(now + MINUTE).toISOString(), // within the 15-minute margin: due
    },
  });
  holder = await startSqliteHolder(path);
  server.beforeAnswer = async () => {
    server.beforeAnswer = async () => {};
    await holder!.hold(); // the provider has spent refresh-0; the store now refuses the write
  };
  expect(refreshTokenOf(await first.get('conn', { refreshToken: true }))).toBe('refresh-1');
  await holder.release();

  // Another process wants the same connection refreshed as soon as the store answers again.
  const second = manager({ retryMs: 1_000, leaseMs: 3_000, waitMs: 100 });
  // It waits for the lock and gives up (RefreshLockTimeoutError), or finds the new credentials.
  const outcome = await second.get('conn', { refreshToken: true, forceRefresh: true }).catch((error: unknown) => error);
  if (!(outcome instanceof Error)) expect(refreshTokenOf(outcome as { credentials: unknown })).not.toBe('refresh-0');

  // The first process stores what it held and lets go of the lock; refresh-0 was presented once.
  await vi.waitFor(
    async () => {
      const reader = manager({ retryMs: 1_000, leaseMs: 3_000, waitMs: 100 });
      try {
        expect(refreshTokenOf(await reader.get('conn', { refreshToken: true }))).not.toBe('refresh-0');
      } finally {
        await reader.close();
      }
    },
    { timeout: 15_000, interval: 100 },
  );
  expect(server.revoked).toBe(false);
  expect(server.presented.filter((token) => token === 'refresh-0')).toHaveLength(1);
  await first.close();
  await second.close();
  expect(rejections).toEqual([]);
});

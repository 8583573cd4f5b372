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

const MINUTE = 60_000;
let server: OneGrantServer;
let holder: SqliteHolder;
let path: string;
const now = Date.parse('2026-11-23T12:00:00.000Z');
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

beforeEach(async () => {
  path = join(tmpdir(), `latchkey-fault-${randomBytes(6).toString('hex')}.db`);
  server = await startOneGrantServer();
  process.on('unhandledRejection', onRejection);
});
afterEach(async () => {
  process.off('unhandledRejection', onRejection);
  rejections.length = 0;
  await holder?.stop();
  await server.close();
  await rm(path, { force: true });
  await rm(`${path}-wal`, { force: true });
  await rm(`${path}-shm`, { force: true });
});

function manager(logger = captureLogs().logger, lock?: { leaseMs: number }) {
  return new ConnectionManager({
    store: sqliteStore({ path, busyTimeoutMs: 20 }),
    integrations: {
      crm: {
        provider: 'crm',
        clientId: server.clientId,
        clientSecret: server.clientSecret,
        definition: { authMode: 'OAUTH2', tokenUrl: server.url },
      },
    },
    http: { allowInsecureLoopback: true, ...(lock && { timeoutMs: lock.leaseMs / 2 }) },
    storageRetry: { initialDelayMs: 20, maxDelayMs: 100 },
    ...(lock && { lock }),
    clock: () => now,
    logger,
    requireEncryption: false,
  });
}

const credentialsOf = (connection: { credentials: unknown }) =>
  connection.credentials as { access_token: string; refresh_token?: string };

it('keeps a rotated refresh token when SQLite stays busy past its timeout between the answer and the write', async () => {
  const logs = captureLogs();
  const app = manager(logs.logger);
  await app.create({
    connectionId: 'conn',
    providerConfigKey: 'crm',
    credentials: {
      type: 'OAUTH2',
      access_token: 'access-0',
      refresh_token: 'refresh-0',
      expires_at: new Date(now + MINUTE).toISOString(),
    },
  });
  holder = await startSqliteHolder(path);
  // The provider spends refresh-0, then another process takes the file's write lock before the answer.
  server.beforeAnswer = async () => {
    server.beforeAnswer = async () => {};
    await holder.hold();
  };

  const first = await app.get('conn');
  expect(credentialsOf(first).access_token).toBe('access-1');
  const logged = logs.lines.find((line) => line.startsWith('error') && line.includes('could not be stored'));
  expect(logged).toMatch(/"log_id":"[0-9a-f]{20}"/);
  expect(logged).not.toContain('refresh-1');
  expect(logged).not.toContain(server.clientSecret);

  // Still busy: the held credentials are served, and the spent token is never presented again.
  const second = await app.get('conn', { refreshToken: true });
  expect(credentialsOf(second)).toMatchObject({ access_token: 'access-1', refresh_token: 'refresh-1' });
  expect(server.presented).toEqual(['refresh-0']);

  // The lock goes away: the background retry stores the new credentials.
  await holder.release();
  await vi.waitFor(() => expect(logs.lines.some((line) => line.includes('are now stored'))).toBe(true), {
    timeout: 10_000,
    interval: 20,
  });
  // Another process now reads the new credentials (not due, so it makes no request).
  const reader = manager();
  expect(credentialsOf(await reader.get('conn', { refreshToken: true })).refresh_token).toBe('refresh-1');
  expect(server.revoked).toBe(false);
  expect(server.presented).toEqual(['refresh-0']);
  await app.close();
  await reader.close();
  expect(rejections).toEqual([]);
});

it('retries a write that fails once while the lease lasts, so nothing is held in memory', async () => {
  const logs = captureLogs();
  let released: Promise<void> | undefined;
  // Lets go of the file as soon as the first write attempt has been refused.
  const logger = {
    warn: (message: string, fields?: Record<string, unknown>) => {
      logs.logger.warn(message, fields);
      if (message.includes('retrying within the lease')) released ??= holder.release();
    },
    error: logs.logger.error,
  };
  const app = manager(logger);
  await app.create({
    connectionId: 'conn',
    providerConfigKey: 'crm',
    credentials: {
      type: 'OAUTH2',
      access_token: 'access-0',
      refresh_token: 'refresh-0',
      expires_at: new Date(now + MINUTE).toISOString(),
    },
  });
  holder = await startSqliteHolder(path);
  server.beforeAnswer = async () => {
    server.beforeAnswer = async () => {};
    await holder.hold();
  };
  expect(credentialsOf(await app.get('conn')).access_token).toBe('access-1');
  expect(released).toBeDefined();
  await released;
  expect(logs.lines.some((line) => line.includes('could not be stored'))).toBe(false);
  const reader = manager();
  expect(credentialsOf(await reader.get('conn', { refreshToken: true })).refresh_token).toBe('refresh-1');
  expect(server.presented).toEqual(['refresh-0']);
  await app.close();
  await reader.close();
  expect(rejections).toEqual([]);
});

it('logs, with the log_id, credentials that were never stored when the manager closes', async () => {
  const logs = captureLogs();
  // close() keeps trying for up to the lease: a short one, since the store never comes back here.
  const app = manager(logs.logger, { leaseMs: 2_000 });
  await app.create({
    connectionId: 'conn',
    providerConfigKey: 'crm',
    credentials: {
      type: 'OAUTH2',
      access_token: 'access-0',
      refresh_token: 'refresh-0',
      expires_at: new Date(now + MINUTE).toISOString(),
    },
  });
  holder = await startSqliteHolder(path);
  server.beforeAnswer = async () => {
    server.beforeAnswer = async () => {};
    await holder.hold();
  };
  expect(credentialsOf(await app.get('conn')).access_token).toBe('access-1');
  const logId = /"log_id":"([0-9a-f]{20})"/.exec(logs.lines.find((l) => l.includes('could not be stored')) ?? '')?.[1];
  expect(logId).toBeDefined();
  await app.close().catch(() => {});
  expect(logs.lines.some((line) => line.includes('never stored') && line.includes(logId!))).toBe(true);
  await holder.release();
  expect(rejections).toEqual([]);
});

import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import { ConnectionManager } from '../../src/index.js';
import { captureLogs } from '../support/logs.js';
import { type OneGrantServer, startOneGrantServer } from '../support/token-server.js';

// Found by the chaos soak (docs/reliability.md): a process closed gracefully (a deploy) while a
// `get` was refreshing closed its store under the refresh; the provider had already spent the old
// refresh token, the new one could not be stored, and the grant was lost.

const now = Date.parse('2026-11-23T12:00:00.000Z');
let server: OneGrantServer;
let path: string;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

beforeEach(async () => {
  path = join(tmpdir(), `latchkey-close-refresh-${randomBytes(6).toString('hex')}.db`);
  server = await startOneGrantServer();
  process.on('unhandledRejection', onRejection);
});
afterEach(async () => {
  process.off('unhandledRejection', onRejection);
  rejections.length = 0;
  await server.close();
  for (const suffix of ['', '-wal', '-shm']) await rm(`${path}${suffix}`, { force: true });
});

function manager() {
  return new ConnectionManager({
    store: sqliteStore({ path }),
    integrations: {
      crm: {
        provider: 'crm',
        clientId: server.clientId,
        clientSecret: server.clientSecret,
        definition: { authMode: 'OAUTH2', tokenUrl: server.url },
      },
    },
    http: { allowInsecureLoopback: true },
    clock: () => now,
    logger: captureLogs().logger,
    requireEncryption: false,
  });
}

it('close() waits for a refresh under way, so the rotated refresh token is stored before the store closes', async () => {
  const app = manager();
  await app.create({
    connectionId: 'conn',
    providerConfigKey: 'crm',
    credentials: {
      type: 'OAUTH2',
      access_token: 'access-0',
      refresh_token: 'refresh-0',
      expires_at: new Date(now + 60_000).toISOString(), // within the margin: due
    },
  });
  let arrived!: () => void;
  const atProvider = new Promise<void>((resolve) => (arrived = resolve));
  let answer!: () => void;
  const gate = new Promise<void>((resolve) => (answer = resolve));
  server.beforeAnswer = async () => {
    arrived(); // refresh-0 is spent now
    await gate;
  };

  const refreshing = app.get('conn').catch((error: unknown) => error);
  await atProvider;
  const closing = app.close();
  answer();
  await closing;
  await refreshing;

  const next = manager();
  const stored = await next.get('conn', { refreshToken: true });
  expect((stored.credentials as { refresh_token: string }).refresh_token).toBe('refresh-1');
  expect(server.presented).toEqual(['refresh-0']);
  expect(server.revoked).toBe(false);
  await next.close();
  expect(rejections).toEqual([]);
});

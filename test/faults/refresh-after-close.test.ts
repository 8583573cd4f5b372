import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import { ConnectionManager } from '../../src/index.js';
import { type TokenServer, startTokenServer } from '../../src/testing/token-server.js';
import { captureLogs } from '../support/logs.js';

// Found by the chaos soak (docs/reliability.md): `close()` waited for the refreshes under way when
// it began, but a `get` that reached its refresh a moment later (a request still being served
// during a deploy's graceful stop) spent the rotating refresh token at the provider while the
// store closed under it. The new token could not be stored, the next process presented the spent
// one, and the provider revoked the grant.

const now = Date.parse('2026-11-23T12:00:00.000Z');
let server: TokenServer;
let path: string;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

beforeEach(async () => {
  path = join(tmpdir(), `latchkey-refresh-after-close-${randomBytes(6).toString('hex')}.db`);
  server = await startTokenServer({
    clientId: 'client-a',
    clientSecret: 'secret-a',
    tokens: (family, n) => ({ access: `access-${family}-${n}`, refresh: `refresh-${family}-${n}` }),
  });
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

/** A promise and the function that resolves it. */
function signal() {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

it('a refresh asked for after close() began is refused before it reaches the provider, so no grant is lost', async () => {
  const app = manager();
  for (const family of ['a', 'b']) {
    await app.create({
      connectionId: family,
      providerConfigKey: 'crm',
      credentials: {
        type: 'OAUTH2',
        access_token: `access-${family}`,
        refresh_token: server.grant(family, `refresh-${family}-0`),
        expires_at: new Date(now + 60_000).toISOString(), // within the margin: due
      },
    });
  }
  // The first refresh is held at the provider, so close() is waiting for it when `b` is asked for.
  const arrivedA = signal();
  const answerA = signal();
  const arrivedB = signal();
  const answerB = signal();
  let calls = 0;
  server.beforeAnswer = async () => {
    calls += 1;
    if (calls === 1) {
      arrivedA.resolve();
      await answerA.promise;
    } else {
      arrivedB.resolve(); // refresh-b-0 is spent now
      await answerB.promise;
    }
  };

  const refreshingA = app.get('a');
  await arrivedA.promise;
  const closing = app.close();
  await new Promise((resolve) => setImmediate(resolve)); // close() is now waiting for `a`'s refresh
  const refreshingB = app.get('b').then(
    () => 'served' as const,
    (error: unknown) => error,
  );
  // Either `b` is refused at once, or (the old behaviour) its refresh reaches the provider.
  const first = await Promise.race([refreshingB.then(() => 'settled' as const), arrivedB.promise.then(() => 'spent')]);
  answerA.resolve();
  await refreshingA;
  await closing;
  answerB.resolve();
  const outcomeB = await refreshingB;

  expect(first).toBe('settled');
  // Refused, the still-valid stored token is served (or the refusal reported): never a spent one.
  if (outcomeB !== 'served') expect(outcomeB).toMatchObject({ code: 'storage_error', transient: true });
  expect(server.family('b')?.issued).toBe(0);
  // `b`'s grant is intact: the stored refresh token is the one the provider accepts next.
  const next = manager();
  try {
    const stored = await next.get('b', { refreshToken: true });
    expect((stored.credentials as { refresh_token?: string }).refresh_token).toBe(server.family('b')?.current);
    expect(server.family('b')?.revoked).toBe(false);
    const refreshed = await next.get('b', { forceRefresh: true, refreshToken: true });
    expect((refreshed.credentials as { refresh_token?: string }).refresh_token).toBe(server.family('b')?.current);
  } finally {
    await next.close();
  }
  expect(rejections).toEqual([]);
});

import { afterEach, beforeEach, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { ConnectionManager } from '../../src/index.js';
import { captureLogs } from '../support/logs.js';
import { type OneGrantServer, startOneGrantServer } from '../support/token-server.js';

// Found by the chaos soak on a loaded machine: a rotating provider spent the refresh token and
// answered in time, but the app process was starved of CPU meanwhile. When it ran again, Node ran
// its due timers before reading its sockets: the request timeout fired first, the answer that had
// arrived was thrown away, the refresh failed as a timeout, and the next refresh presented the
// spent token — the provider revoked the grant.

// Long enough that a loaded machine still gets the request to the provider within it.
const TIMEOUT_MS = 2_000;
const now = Date.parse('2026-12-07T12:00:00.000Z');
let server: OneGrantServer;

beforeEach(async () => {
  server = await startOneGrantServer();
});
afterEach(async () => {
  await server.close();
});

/** Starves this process: nothing else runs (timers, sockets) until `ms` have passed. */
function starve(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: the fault is the starvation itself
  }
}

it('an answer that arrived before the request timeout is read, even when the process wakes up after it', async () => {
  const manager = new ConnectionManager({
    store: memoryStore(),
    integrations: {
      crm: {
        provider: 'crm',
        clientId: server.clientId,
        clientSecret: server.clientSecret,
        definition: { authMode: 'OAUTH2', tokenUrl: server.url },
      },
    },
    http: { allowInsecureLoopback: true, timeoutMs: TIMEOUT_MS },
    lock: { leaseMs: 10 * TIMEOUT_MS },
    clock: () => now,
    logger: captureLogs().logger,
    requireEncryption: false,
  });
  await manager.create({
    connectionId: 'conn',
    providerConfigKey: 'crm',
    credentials: {
      type: 'OAUTH2',
      access_token: 'access-0',
      refresh_token: 'refresh-0',
      expires_at: new Date(now + 60_000).toISOString(), // due: inside the refresh margin
    },
  });
  // The provider (in this process) spends refresh-0 and answers; the process is then starved past
  // the client's timeout before anything else runs, as an app process on a loaded host can be.
  let answered = false;
  server.beforeAnswer = async () => {
    server.beforeAnswer = async () => {};
    answered = true;
    setImmediate(() => starve(TIMEOUT_MS + 300));
  };

  const connection = await manager.get('conn', { refreshToken: true });
  expect(answered).toBe(true);
  expect((connection.credentials as { refresh_token?: string }).refresh_token).toBe('refresh-1');
  expect(server.presented).toEqual(['refresh-0']);
  expect(server.revoked).toBe(false);
  await manager.close();
});

/**
 * `manager.fetch` forces a refresh when the API answers 401, but at most once a minute per
 * connection: an API that always answers 401 (a revoked scope, a wrong endpoint) must not turn
 * every call into a token request. The limit is the fetch operation's own state, per manager.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { ForcedRefreshLimit } from '../../src/operations/forced-refresh-limit.js';
import { testClock, testManager } from '../support/manager.js';
import { testScope } from '../support/scope.js';
import { startTokenServer } from '../support/token-server.js';

const { defer } = testScope();

/** An API that answers every request with 401, and counts them. */
async function startRefusingApi() {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests += 1;
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests };
}

describe('refreshes forced by 401 answers', () => {
  it('are at most one a minute per connection, and another manager keeps its own count', async () => {
    const tokens = await startTokenServer('client_secret_post');
    defer(() => tokens.close());
    const api = await startRefusingApi();
    const clock = testClock();
    const store = memoryStore();
    const integrations = {
      crm: {
        provider: 'crm',
        clientId: tokens.clientId,
        clientSecret: tokens.clientSecret,
        definition: { authMode: 'OAUTH2' as const, tokenUrl: tokens.url, proxy: { baseUrl: api.url } },
      },
    };
    const manager = testManager({ store, clock, integrations });
    await manager.create({
      connectionId: 'u',
      providerConfigKey: 'crm',
      credentials: { type: 'OAUTH2', access_token: 'a', refresh_token: 'r', expires_in: 3600 },
    });

    expect((await manager.fetch('u', '/me')).status).toBe(401);
    expect(tokens.requests).toHaveLength(1);
    // Within the minute: the 401 is returned as it is, with no token request.
    clock.advance(59_000);
    expect((await manager.fetch('u', '/me')).status).toBe(401);
    expect(tokens.requests).toHaveLength(1);
    // A minute after the last forced refresh: one more.
    clock.advance(1_000);
    expect((await manager.fetch('u', '/me')).status).toBe(401);
    expect(tokens.requests).toHaveLength(2);
    expect(api.requests()).toBe(2 + 1 + 2);

    // A second manager over the same store has not forced a refresh yet.
    const other = testManager({ store, clock, integrations });
    expect((await other.fetch('u', '/me')).status).toBe(401);
    expect(tokens.requests).toHaveLength(3);
  });

  it('the limit forgets everything past its bound rather than grow without one', () => {
    const limit = new ForcedRefreshLimit(60_000, 2);
    expect(limit.take('a', 0)).toBe(true);
    expect(limit.take('a', 1)).toBe(false);
    expect(limit.take('b', 1)).toBe(true);
    expect(limit.take('c', 1)).toBe(true);
    // Three remembered, past the bound of two: the next new key starts afresh, `a` included.
    expect(limit.take('d', 2)).toBe(true);
    expect(limit.take('a', 3)).toBe(true);
    expect(limit.take('a', 60_002)).toBe(false);
    expect(limit.take('a', 60_003)).toBe(true);
  });
});

/**
 * Issue 11, item 6: the proxy keeps credentials where they belong. A redirect that leaves the
 * provider's origin carries none of the credentials the definition injected; a 401 (or a
 * definition's other "expired" statuses) triggers a refresh at most once a minute and never
 * against back-off or exhaustion.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConnectionManager } from '../../src/index.js';
import { captureLogs } from '../support/logs.js';
import { testScope } from '../support/scope.js';
import { startTokenServer } from '../support/token-server.js';

const scope = testScope();

interface Seen {
  url: string;
  headers: IncomingMessage['headers'];
}

async function startServer(host: string, answer: (request: IncomingMessage, response: ServerResponse) => void) {
  const seen: Seen[] = [];
  const server = createServer((request, response) => {
    seen.push({ url: request.url ?? '', headers: request.headers });
    request.resume();
    request.on('end', () => answer(request, response));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  scope.defer(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://${host}:${(server.address() as AddressInfo).port}`, seen };
}

describe('redirects', () => {
  async function setup() {
    // Another origin: same machine, another host name and port.
    const elsewhere = await startServer('localhost', (_, response) => response.writeHead(200).end('elsewhere'));
    const api = await startServer('127.0.0.1', (request, response) => {
      const url = new URL(request.url ?? '/', 'http://api');
      if (url.pathname === '/v1/away')
        response.writeHead(302, { location: `${elsewhere.url}/landing${url.search}` }).end();
      else if (url.pathname === '/v1/moved') response.writeHead(301, { location: `/v1/here${url.search}` }).end();
      else response.writeHead(200).end('here');
    });
    const manager = scope.managerWith({
      api: {
        provider: 'api',
        definition: {
          authMode: 'API_KEY',
          proxy: {
            baseUrl: `${api.url}/v1`,
            headers: { 'X-Api-Key': '${apiKey}' },
            query: { api_key: '${apiKey}' },
          },
        },
      },
    });
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'api',
      credentials: { type: 'API_KEY', apiKey: 'k-secret' },
    });
    return { manager, api, elsewhere };
  }

  it('a redirect to another origin carries no injected header or query credential', async () => {
    const { manager, elsewhere } = await setup();
    const response = await manager.fetch('c', 'away', { redirect: 'follow', headers: { 'x-trace': 't-1' } });
    expect(await response.text()).toBe('elsewhere');
    expect(elsewhere.seen).toHaveLength(1);
    const [landing] = elsewhere.seen;
    // Before: fetch followed the redirect itself, stripping only Authorization: X-Api-Key went along.
    expect(landing?.headers['x-api-key']).toBeUndefined();
    expect(landing?.url).not.toContain('k-secret');
    expect(JSON.stringify(landing)).not.toContain('k-secret');
    // The caller's own headers still go.
    expect(landing?.headers['x-trace']).toBe('t-1');
  });

  it('a redirect within the provider’s origin keeps the credentials', async () => {
    const { manager, api } = await setup();
    const response = await manager.fetch('c', 'moved', { redirect: 'follow' });
    expect(await response.text()).toBe('here');
    expect(api.seen.at(-1)?.headers['x-api-key']).toBe('k-secret');
  });
});

describe('expired-token answers', () => {
  async function setup(status: number, expiredStatuses?: number[], fresh = false) {
    const tokens = await startTokenServer();
    scope.defer(() => tokens.close());
    // Accepts only refreshed tokens when `fresh`, else always refuses.
    const api = await startServer('127.0.0.1', (request, response) => {
      const ok = fresh && request.headers.authorization !== 'Bearer old-token';
      response.writeHead(ok ? 200 : status).end(ok ? 'ok' : 'expired');
    });
    const manager = scope.managerWith({
      crm: {
        provider: 'crm',
        clientId: tokens.clientId,
        clientSecret: tokens.clientSecret,
        definition: {
          authMode: 'OAUTH2',
          tokenUrl: tokens.url,
          proxy: { baseUrl: api.url, ...(expiredStatuses ? { expiredStatuses } : {}) },
        },
      },
    });
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'crm',
      credentials: {
        type: 'OAUTH2',
        access_token: 'old-token',
        refresh_token: 'r-1',
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
      },
    });
    return { manager, tokens };
  }

  it('an API that always answers 401 costs one token request, not one per call', async () => {
    const { manager, tokens } = await setup(401);
    for (let call = 0; call < 10; call++) {
      const response = await manager.fetch('c', 'me');
      expect(response.status).toBe(401);
      await response.body?.cancel();
    }
    // Before: 10 fetches made 10 token requests.
    expect(tokens.requests).toHaveLength(1);
  });

  it('a 401 does not force a refresh while the connection is in refresh back-off', async () => {
    const tokens = await startTokenServer();
    scope.defer(() => tokens.close());
    tokens.reply(() => ({
      status: 503,
      json: { error: 'temporarily_unavailable' },
      headers: { 'retry-after': '3600' },
    }));
    const api = await startServer('127.0.0.1', (_, response) => response.writeHead(401).end('expired'));
    let now = Date.now();
    const manager = new ConnectionManager({
      integrations: {
        crm: {
          provider: 'crm',
          clientId: tokens.clientId,
          clientSecret: tokens.clientSecret,
          definition: { authMode: 'OAUTH2', tokenUrl: tokens.url, proxy: { baseUrl: api.url } },
        },
      },
      http: { allowInsecureLoopback: true },
      clock: () => now,
      logger: captureLogs().logger,
    });
    scope.defer(() => manager.close());
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'crm',
      credentials: {
        type: 'OAUTH2',
        access_token: 'old-token',
        refresh_token: 'r-1',
        expires_at: new Date(now + 24 * 3600_000).toISOString(),
      },
    });
    for (let call = 0; call < 5; call++) {
      // The first call's refresh fails (a transient ProviderError; back-off for an hour); later calls get the 401.
      const outcome = await manager.fetch('c', 'me').catch((error: unknown) => error);
      if (outcome instanceof Response) {
        expect(outcome.status).toBe(401);
        await outcome.body?.cancel();
      } else expect(outcome).toMatchObject({ code: 'provider_error' });
      now += 2 * 60_000;
    }
    // Before: each 401 forced a refresh through the back-off — 5 token requests.
    expect(tokens.requests).toHaveLength(1);
  });

  it('a definition may say 403 means expired too (Jira): refresh once and retry', async () => {
    const { manager, tokens } = await setup(403, [401, 403], true);
    const response = await manager.fetch('c', 'me');
    // Before: the 403 came back as is, with no refresh.
    expect(response.status).toBe(200);
    expect(tokens.requests).toHaveLength(1);
  });
});

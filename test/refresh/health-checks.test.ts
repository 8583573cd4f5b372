import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectionEvents, ConnectionManager, ConnectionManagerOptions } from '../../src/index.js';
import { memoryStore } from '../../adapters/memory.js';
import { captureLogs } from '../support/logs.js';
import { testClock, testManager, type TestClock } from '../support/manager.js';
import { startClientCredentialsServer } from '../support/token-server.js';

const HOUR = 60 * 60_000;
const DAY = 24 * HOUR;
const KEY = 'sk-live-key-0123456789';

/**
 * An API that checks its key like a real one: `GET /v1/me` answers 200 for an accepted
 * `X-Api-Key`, 401 for any other; `answer` makes it refuse every key (403) or fail (503).
 */
interface LocalApi {
  url: string;
  accepted: Set<string>;
  answer: 'check' | 'forbid' | 'fail' | 'hang';
  requests: number;
  server: Server;
}

async function startApi(): Promise<LocalApi> {
  const api: LocalApi = { url: '', accepted: new Set([KEY]), answer: 'check', requests: 0, server: createServer() };
  api.server.on('request', (req, res) => {
    api.requests += 1;
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url !== '/v1/me' || req.method !== 'GET') return json(404, { error: 'not_found' });
    if (api.answer === 'fail') return json(503, { error: 'maintenance' });
    if (api.answer === 'hang') return undefined; // never answers
    if (api.answer === 'forbid') return json(403, { error: 'key disabled' });
    const key = req.headers['x-api-key'];
    return typeof key === 'string' && api.accepted.has(key) ? json(200, { id: 'acct-1' }) : json(401, {});
  });
  api.server.listen(0, '127.0.0.1');
  await once(api.server, 'listening');
  api.url = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  return api;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(extra: ConnectionManagerOptions = {}) {
  const api = await startApi();
  cleanups.push(async () => {
    api.server.closeAllConnections();
    await new Promise((resolve) => api.server.close(resolve));
  });
  const clock = testClock();
  const manager = managerFor(api, clock, extra);
  await manager.create({
    connectionId: 'acct',
    providerConfigKey: 'keyed',
    credentials: { type: 'API_KEY', apiKey: KEY },
  });
  const events: Array<{ name: string; event: unknown }> = [];
  for (const name of ['credentials.invalid', 'credentials.valid'] as const) {
    manager.on(name, (event) => events.push({ name, event }));
  }
  return { api, clock, manager, events };
}

function managerFor(api: LocalApi, clock: TestClock, extra: ConnectionManagerOptions): ConnectionManager {
  return testManager({
    store: memoryStore(),
    clock,
    integrations: {
      keyed: {
        provider: 'keyed-api',
        definition: {
          authMode: 'API_KEY',
          proxy: { baseUrl: api.url, headers: { 'X-Api-Key': '${apiKey}' } },
          verification: { method: 'GET', path: '/v1/me' },
        },
      },
    },
    ...extra,
  });
}

async function statusOf(manager: ConnectionManager) {
  return (await manager.list()).connections[0];
}

describe('health checks of credentials that do not expire', () => {
  it('an API that starts refusing the key: credentials.invalid once, then credentials.valid when it accepts again', async () => {
    const { api, clock, manager, events } = await setup();
    const refresher = manager.startBackgroundRefresh();

    // Nothing to check before the interval (the key was just stored).
    expect(await refresher.tick()).toMatchObject({ due: 0, healthChecked: 0 });
    clock.advance(DAY);
    expect(await refresher.tick()).toMatchObject({ due: 1, healthChecked: 1, invalid: 0 });
    expect(api.requests).toBe(1);
    expect((await statusOf(manager))?.status).toEqual({
      state: 'ok',
      credentials_check: { valid: true, checked_at: new Date(clock.now()).toISOString() },
    });

    api.accepted.clear();
    clock.advance(DAY);
    const refusedAt = new Date(clock.now()).toISOString();
    expect(await refresher.tick()).toMatchObject({ healthChecked: 1, invalid: 1 });
    expect(events).toHaveLength(1);
    const invalid = events[0]?.event as ConnectionEvents['credentials.invalid'];
    expect(events[0]?.name).toBe('credentials.invalid');
    expect(invalid).toEqual({
      connectionId: 'acct',
      providerConfigKey: 'keyed',
      provider: 'keyed-api',
      authMode: 'API_KEY',
      logId: expect.any(String),
      status: 401,
    });
    const item = await statusOf(manager);
    expect(item?.errors).toEqual([{ type: 'auth', log_id: invalid.logId }]);
    expect(item?.status).toEqual({
      state: 'needs_reconnect',
      credentials_check: {
        valid: false,
        checked_at: refusedAt,
        invalid_since: refusedAt,
        status: 401,
        log_id: invalid.logId,
      },
    });

    // Still refused a day later (403 now): no second event, same "since".
    api.answer = 'forbid';
    clock.advance(DAY);
    expect(await refresher.tick()).toMatchObject({ healthChecked: 1, invalid: 1 });
    expect(events).toHaveLength(1);
    expect((await statusOf(manager))?.status.credentials_check).toMatchObject({
      invalid_since: refusedAt,
      status: 403,
    });
    expect((await statusOf(manager))?.errors).toHaveLength(1);

    api.answer = 'check';
    api.accepted.add(KEY);
    clock.advance(DAY);
    expect(await refresher.tick()).toMatchObject({ healthChecked: 1, invalid: 0 });
    expect(events.map((e) => e.name)).toEqual(['credentials.invalid', 'credentials.valid']);
    expect(await statusOf(manager)).toMatchObject({ errors: [], status: { state: 'ok' } });
    // The key is never in an event or a list item.
    expect(JSON.stringify([events, await manager.list()])).not.toContain(KEY);
  });

  it('a 5xx or a network error changes nothing, and is retried sooner than the interval', async () => {
    const { api, clock, manager, events } = await setup();
    const refresher = manager.startBackgroundRefresh({ intervalMs: 60_000 });
    clock.advance(DAY);
    api.answer = 'fail';
    expect(await refresher.tick()).toMatchObject({ healthChecked: 1, invalid: 0 });
    expect(await statusOf(manager)).toMatchObject({ errors: [], status: { state: 'ok' } });

    // Retried 5 minutes later, not a day later.
    clock.advance(5 * 60_000);
    api.server.closeAllConnections();
    await new Promise((resolve) => api.server.close(resolve));
    expect(await refresher.tick()).toMatchObject({ healthChecked: 1, invalid: 0, failed: 0 });
    expect(await statusOf(manager)).toMatchObject({ errors: [], status: { state: 'ok' } });
    expect(events).toEqual([]);
    // Then 10 minutes (doubling), still without a verdict.
    clock.advance(5 * 60_000);
    expect(await refresher.tick()).toMatchObject({ due: 0 });
    clock.advance(5 * 60_000);
    expect(await refresher.tick()).toMatchObject({ due: 1, healthChecked: 1 });
  });

  it('an API that never answers times out like a network error: no verdict, and the pass ends', async () => {
    const { api, clock, manager, events } = await setup({ http: { allowInsecureLoopback: true, timeoutMs: 200 } });
    const refresher = manager.startBackgroundRefresh();
    clock.advance(DAY);
    api.answer = 'hang';
    expect(await refresher.tick()).toMatchObject({ healthChecked: 1, invalid: 0, failed: 0 });
    expect(api.requests).toBe(1);
    expect(events).toEqual([]);
    expect(await statusOf(manager)).toMatchObject({ errors: [], status: { state: 'ok' } });
  });

  it('the check goes through the proxy path: a host the manager may not reach gets no request and no verdict', async () => {
    const logs = captureLogs();
    // Without the loopback switch, plain HTTP to 127.0.0.1 is refused, as for manager.fetch.
    const { api, clock, manager, events } = await setup({
      http: { allowInsecureLoopback: false },
      logger: logs.logger,
    });
    const refresher = manager.startBackgroundRefresh();
    clock.advance(DAY);
    expect(await refresher.tick()).toMatchObject({ healthChecked: 1, invalid: 0 });
    expect(api.requests).toBe(0);
    expect(events).toEqual([]);
    expect((await statusOf(manager))?.status).toEqual({ state: 'ok' });
    expect(logs.lines.join('\n')).toContain('health check got no answer');
  });

  it('new credentials (upsert) clear the verdict about the old ones', async () => {
    const { api, clock, manager } = await setup();
    const refresher = manager.startBackgroundRefresh();
    api.accepted.clear();
    clock.advance(DAY);
    expect(await refresher.tick()).toMatchObject({ invalid: 1 });
    api.accepted.add('sk-new-key');
    await manager.upsert({
      connectionId: 'acct',
      providerConfigKey: 'keyed',
      credentials: { type: 'API_KEY', apiKey: 'sk-new-key' },
    });
    expect(await statusOf(manager)).toMatchObject({ errors: [], status: { state: 'ok' } });
    // The next check is a full interval after the new key was stored.
    clock.advance(DAY - 2 * 60_000);
    expect(await refresher.tick()).toMatchObject({ due: 0 });
  });

  it('a provider without a verification request is never checked', async () => {
    const api = await startApi();
    cleanups.push(async () => {
      api.server.closeAllConnections();
      await new Promise((resolve) => api.server.close(resolve));
    });
    const clock = testClock();
    const manager = testManager({
      clock,
      integrations: {
        plain: { provider: 'plain', definition: { authMode: 'API_KEY', proxy: { baseUrl: api.url } } },
      },
    });
    await manager.create({
      connectionId: 'x',
      providerConfigKey: 'plain',
      credentials: { type: 'API_KEY', apiKey: KEY },
    });
    const refresher = manager.startBackgroundRefresh();
    clock.advance(10 * DAY);
    expect(await refresher.tick()).toMatchObject({ due: 0, healthChecked: 0 });
    expect(api.requests).toBe(0);
  });
});

describe('health checks of minted credentials', () => {
  it('OAUTH2_CC mints a token through the on-read path, then verifies it; a failed mint is recorded as on get', async () => {
    const tokens = await startClientCredentialsServer({
      method: 'client_secret_post',
      clientId: 'machine',
      clientSecret: 'machine-secret',
      expiresIn: 3600,
    });
    let tokensUp = true;
    cleanups.push(async () => {
      if (tokensUp) await tokens.close();
    });
    // An API that accepts the tokens the token server issues, until it refuses every one.
    let refuse = false;
    const seen: string[] = [];
    const api = createServer((req, res) => {
      seen.push(req.headers.authorization ?? '');
      const ok = !refuse && /^Bearer cc-token-\d+$/.test(req.headers.authorization ?? '');
      res.writeHead(ok ? 200 : 401).end();
    });
    api.listen(0, '127.0.0.1');
    await once(api, 'listening');
    cleanups.push(async () => {
      api.closeAllConnections();
      await new Promise((resolve) => api.close(resolve));
    });
    const clock = testClock();
    const manager = testManager({
      clock,
      integrations: {
        machine: {
          provider: 'machine-api',
          clientId: 'machine',
          clientSecret: 'machine-secret',
          definition: {
            authMode: 'OAUTH2_CC',
            tokenUrl: tokens.url,
            tokenRequestAuthMethod: 'client_secret_post',
            proxy: { baseUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}` },
            verification: { path: '/whoami' },
          },
        },
      },
    });
    await manager.create({ connectionId: 'm', providerConfigKey: 'machine', credentials: { type: 'OAUTH2_CC' } });
    const events: string[] = [];
    for (const name of ['credentials.invalid', 'refresh.failed'] as const) manager.on(name, () => events.push(name));
    const refresher = manager.startBackgroundRefresh();

    clock.advance(DAY);
    expect(await refresher.tick()).toMatchObject({ healthChecked: 1, invalid: 0, failed: 0 });
    expect(tokens.granted).toHaveLength(1);
    expect(seen).toEqual(['Bearer cc-token-1']);

    refuse = true;
    clock.advance(DAY);
    expect(await refresher.tick()).toMatchObject({ healthChecked: 1, invalid: 1 });
    expect(events).toEqual(['credentials.invalid']);

    // The token endpoint is down when the next check needs a new token: a transient refresh
    // failure, recorded and backed off as on get; the verdict is untouched.
    await tokens.close();
    tokensUp = false;
    clock.advance(DAY);
    expect(await refresher.tick()).toMatchObject({ healthChecked: 1, failed: 1 });
    expect(events).toEqual(['credentials.invalid', 'refresh.failed']);
    const status = (await manager.list()).connections[0]?.status;
    expect(status).toMatchObject({
      state: 'needs_reconnect',
      refresh: { error: 'network_error', exhausted: false },
      credentials_check: { valid: false },
    });
  });
});

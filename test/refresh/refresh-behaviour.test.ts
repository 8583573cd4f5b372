import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import {
  AccessTokenExpiredError,
  type ConnectionManager,
  type ConnectionManagerOptions,
  type IntegrationConfig,
  ProviderError,
  RefreshBackoffError,
  RefreshExhaustedError,
} from '../../src/index.js';
import type { StorageAdapter } from '../../src/adapter.js';
import { captureLogs } from '../support/logs.js';
import { testManager } from '../support/manager.js';
import { connectionFullErrors } from '../support/schema.js';
import { startTokenServer, type TokenServer } from '../support/token-server.js';

const MINUTE = 60_000;
let server: TokenServer;
let now: number;

beforeEach(async () => {
  server = await startTokenServer('client_secret_post');
  now = Date.parse('2026-11-23T12:00:00.000Z');
});
afterEach(async () => {
  await server.close();
});

function setup(options: Partial<ConnectionManagerOptions> = {}, integration: Partial<IntegrationConfig> = {}) {
  const logs = captureLogs();
  const manager = testManager({
    integrations: {
      crm: {
        provider: 'crm',
        clientId: server.clientId,
        clientSecret: server.clientSecret,
        definition: { authMode: 'OAUTH2', tokenUrl: server.url },
        ...integration,
      },
    },
    clock: () => now,
    logger: logs.logger,
    ...options,
  });
  return { manager, logs };
}

async function createExpiring(manager: ConnectionManager, expiresInMs: number, extra: Record<string, unknown> = {}) {
  await manager.create({
    connectionId: 'conn',
    providerConfigKey: 'crm',
    credentials: {
      type: 'OAUTH2',
      access_token: 'access-0',
      refresh_token: 'refresh-0',
      expires_at: new Date(now + expiresInMs).toISOString(),
      ...extra,
    },
  });
}

const accessToken = (connection: { credentials: unknown }) =>
  (connection.credentials as { access_token: string }).access_token;

describe('when to refresh', () => {
  it('refreshes within the default 15-minute margin, not before', async () => {
    const { manager } = setup();
    await createExpiring(manager, 16 * MINUTE);
    expect(accessToken(await manager.get('conn'))).toBe('access-0');
    now += 2 * MINUTE;
    expect(accessToken(await manager.get('conn'))).toBe('access-1');
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]).toMatchObject({
      grantType: 'refresh_token',
      refreshToken: 'refresh-0',
      clientAuth: 'client_secret_post',
    });
  });

  it('takes the margin from the manager, then the provider definition, then the integration', async () => {
    const byManager = setup({ refreshMarginSeconds: 60 }).manager;
    await createExpiring(byManager, 10 * MINUTE);
    expect(accessToken(await byManager.get('conn'))).toBe('access-0');

    const byProvider = setup(
      {},
      { definition: { authMode: 'OAUTH2', tokenUrl: server.url, tokenExpirationBufferSeconds: 60 } },
    ).manager;
    await createExpiring(byProvider, 10 * MINUTE);
    expect(accessToken(await byProvider.get('conn'))).toBe('access-0');

    const byIntegration = setup({ refreshMarginSeconds: 60 }, { refreshMarginSeconds: 11 * 60 }).manager;
    await createExpiring(byIntegration, 10 * MINUTE);
    expect(accessToken(await byIntegration.get('conn'))).toBe('access-1');
  });

  it('keeps the old refresh token when the provider returns none, and takes a rotated one', async () => {
    const { manager } = setup();
    await createExpiring(manager, 0);
    server.reply(() => ({ json: { access_token: 'google-style', token_type: 'Bearer', expires_in: 3599 } }));
    const refreshed = await manager.get('conn', { refreshToken: true });
    expect(refreshed.credentials).toMatchObject({ access_token: 'google-style', refresh_token: 'refresh-0' });

    server.reply(() => ({
      json: { access_token: 'rotating', refresh_token: 'refresh-new', token_type: 'Bearer', expires_in: 3600 },
    }));
    const rotated = await manager.get('conn', { forceRefresh: true, refreshToken: true });
    expect(rotated.credentials).toMatchObject({ access_token: 'rotating', refresh_token: 'refresh-new' });
    expect(server.requests.map((r) => r.refreshToken)).toEqual(['refresh-0', 'refresh-0']);
  });

  it('treats a token without expires_in as non-expiring unless the provider gives a default lifetime', async () => {
    server.reply(() => ({ json: { access_token: 'forever', refresh_token: 'r', token_type: 'Bearer' } }));
    const plain = setup().manager;
    await createExpiring(plain, 0);
    const refreshed = await plain.get('conn');
    expect(refreshed.credentials).not.toHaveProperty('expires_at');

    // Zendesk-like: tokens lapse although the response says nothing (Nango #6775).
    const lapsing = setup(
      {},
      { definition: { authMode: 'OAUTH2', tokenUrl: server.url, defaultTokenLifetimeSeconds: 3600 } },
    ).manager;
    await createExpiring(lapsing, 0);
    const withDefault = await lapsing.get('conn');
    expect((withDefault.credentials as { expires_at: string }).expires_at).toBe(new Date(now + 3600_000).toISOString());
  });

  it('reads expires_in given as a string', async () => {
    server.reply(() => ({ json: { access_token: 'stringly', token_type: 'bearer', expires_in: '7200' } }));
    const { manager } = setup();
    await createExpiring(manager, 0);
    const refreshed = await manager.get('conn');
    expect((refreshed.credentials as { expires_at: string }).expires_at).toBe(new Date(now + 7200_000).toISOString());
  });

  it('never hands out an expired token that cannot be refreshed', async () => {
    const { manager } = setup();
    await manager.create({
      connectionId: 'conn',
      providerConfigKey: 'crm',
      credentials: { type: 'OAUTH2', access_token: 'no-refresh', expires_at: new Date(now + 5 * MINUTE).toISOString() },
    });
    expect(accessToken(await manager.get('conn'))).toBe('no-refresh');
    now += 6 * MINUTE;
    const error = await manager.get('conn').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessTokenExpiredError);
    expect((error as AccessTokenExpiredError).code).toBe('access_token_expired');
    expect(server.requests).toHaveLength(0);
  });

  it('sends the client credentials in a Basic header when the provider wants that', async () => {
    await server.close();
    server = await startTokenServer('client_secret_basic');
    const { manager } = setup(
      {},
      { definition: { authMode: 'OAUTH2', tokenUrl: server.url, tokenRequestAuthMethod: 'client_secret_basic' } },
    );
    await createExpiring(manager, 0);
    expect(accessToken(await manager.get('conn'))).toBe('access-1');
    expect(server.requests[0]?.clientAuth).toBe('client_secret_basic');
    expect(server.requests[0]?.params.has('client_secret')).toBe(false);
  });
});

describe('what get returns', () => {
  it('hides every refresh token at any depth unless asked, and matches the ConnectionFull schema', async () => {
    server.reply(() => ({
      json: {
        access_token: 'xoxp',
        refresh_token: 'top-secret-refresh',
        token_type: 'Bearer',
        expires_in: 3600,
        authed_user: {
          access_token: 'user-token',
          refresh_token: 'nested-refresh',
          refreshToken: 'camel',
          'refresh-token': 'kebab',
        },
      },
    }));
    const { manager } = setup();
    await createExpiring(manager, 0);
    await manager.updateConnectionConfig(
      { connectionId: 'conn', providerConfigKey: 'crm' },
      { team: 'T1', Refresh_Token: 'in-config' },
    );

    const hidden = await manager.get('conn');
    expect(JSON.stringify(hidden)).not.toMatch(/refresh|camel|kebab|in-config/i);
    expect(hidden.connection_config).toEqual({ team: 'T1' });
    expect((hidden.credentials as unknown as { raw: { authed_user: object } }).raw.authed_user).toEqual({
      access_token: 'user-token',
    });
    expect(connectionFullErrors(hidden)).toEqual([]);

    const shown = await manager.get('conn', { refreshToken: true });
    expect(shown.credentials).toMatchObject({ refresh_token: 'top-secret-refresh' });
    expect(shown.connection_config).toEqual({ team: 'T1', Refresh_Token: 'in-config' });
    expect(connectionFullErrors(shown)).toEqual([]);
  });

  it('returns last_fetched_at as the time of the get and persists it at most once a minute', async () => {
    let writes = 0;
    const counting = countingWrites(memoryStore(), () => writes++);
    const { manager } = setup({ store: counting });
    await manager.create({
      connectionId: 'conn',
      providerConfigKey: 'crm',
      credentials: { type: 'OAUTH2', access_token: 'static' },
    });
    const afterCreate = writes;
    for (let i = 0; i < 50; i++) {
      const connection = await manager.get('conn');
      expect(connection.last_fetched_at).toBe(new Date(now).toISOString());
      now += 1000;
    }
    await manager.close();
    // 50 gets over 50 seconds: one persisted write, not fifty.
    expect(writes - afterCreate).toBe(1);
  });

  it('returns API_KEY and BASIC credentials as stored, matching the schema', async () => {
    const manager = testManager({
      integrations: {
        keys: { provider: 'any', definition: { authMode: 'API_KEY' } },
        basic: { provider: 'any', definition: { authMode: 'BASIC' } },
      },
    });
    await manager.create({
      connectionId: 'k',
      providerConfigKey: 'keys',
      credentials: { type: 'API_KEY', apiKey: 'sk_live' },
    });
    await manager.create({
      connectionId: 'b',
      providerConfigKey: 'basic',
      credentials: { type: 'BASIC', username: 'u', password: 'p' },
    });
    const key = await manager.get('k', true);
    const basic = await manager.get('b');
    expect(key.credentials).toEqual({ type: 'API_KEY', apiKey: 'sk_live' });
    expect(basic.credentials).toEqual({ type: 'BASIC', username: 'u', password: 'p' });
    expect(connectionFullErrors(key)).toEqual([]);
    expect(connectionFullErrors(basic)).toEqual([]);
  });
});

describe('concurrency in one process', () => {
  it('many concurrent gets of an expiring connection make exactly one token request', async () => {
    server.reply(() => ({ delayMs: 100, json: { access_token: 'once', token_type: 'Bearer', expires_in: 3600 } }));
    const { manager } = setup();
    await createExpiring(manager, 0);
    const results = await Promise.all(Array.from({ length: 25 }, () => manager.get('conn')));
    expect(server.requests).toHaveLength(1);
    expect(new Set(results.map(accessToken))).toEqual(new Set(['once']));
    // Callers get copies: one caller's mutation never reaches another.
    (results[0]?.credentials as { access_token: string }).access_token = 'mutated';
    expect(accessToken(results[1] as { credentials: unknown })).toBe('once');
    // Metadata, tags and errors too, whether the result came from the shared refresh or a plain read.
    (results[0]!.metadata as Record<string, unknown>).touched = true;
    results[0]!.tags.touched = 'yes';
    expect(results[1]!.metadata).not.toHaveProperty('touched');
    expect(results[1]!.tags).not.toHaveProperty('touched');
    const read = await manager.get('conn');
    (read.metadata as Record<string, unknown>).touched = true;
    read.errors.push({ type: 'auth', log_id: 'x' } as never);
    const again = await manager.get('conn');
    expect(again.metadata).not.toHaveProperty('touched');
    expect(again.errors).toEqual([]);
  });

  it('a refresh whose lease lapsed cannot overwrite the newer credentials another process stored', async () => {
    const store = memoryStore();
    // The first manager believes it holds the lock while another process takes it: exactly
    // what a lease that runs out mid-request looks like from the inside.
    const lapsedLock: StorageAdapter = {
      ...store,
      locks: { tryAcquire: async () => true, release: async () => false },
    };
    const slow = setup({ store: lapsedLock }).manager;
    const fast = setup({ store }).manager;
    await createExpiring(slow, 0);
    // The slow provider answers only once the fast refresh has been stored: no timing involved.
    let fastStored!: () => void;
    const fastDone = new Promise<void>((resolve) => (fastStored = resolve));
    server.reply((_request, index) =>
      index === 0
        ? {
            after: fastDone,
            json: { access_token: 'older', refresh_token: 'r-older', token_type: 'Bearer', expires_in: 3600 },
          }
        : { json: { access_token: 'newer', refresh_token: 'r-newer', token_type: 'Bearer', expires_in: 3600 } },
    );
    const slowGet = slow.get('conn');
    await vi.waitFor(() => expect(server.requests).toHaveLength(1));
    expect(accessToken(await fast.get('conn'))).toBe('newer');
    fastStored();
    expect(accessToken(await slowGet)).toBe('newer');
    expect((await fast.get('conn', { refreshToken: true })).credentials).toMatchObject({
      access_token: 'newer',
      refresh_token: 'r-newer',
    });
    expect(server.requests).toHaveLength(2);
  });
});

describe('failures', () => {
  it('backs off after a transient failure: fails fast while expired, doubles the wait, and a success clears it', async () => {
    server.reply(() => ({ status: 503, json: { error: 'temporarily_unavailable' } }));
    const { manager } = setup();
    await createExpiring(manager, 0);

    const first = (await manager.get('conn').catch((e: unknown) => e)) as ProviderError;
    expect(first).toBeInstanceOf(ProviderError);
    expect(first).toMatchObject({ code: 'provider_error', kind: 'transient', status: 503 });
    const listed = (await manager.list()).connections[0];
    expect(listed?.errors).toEqual([{ type: 'auth', log_id: first.logId }]);

    const during = (await manager.get('conn').catch((e: unknown) => e)) as RefreshBackoffError;
    expect(during).toBeInstanceOf(RefreshBackoffError);
    expect(during.retryAt).toBe(new Date(now + 30_000).toISOString());
    expect(server.requests).toHaveLength(1);

    now += 31_000;
    await expect(manager.get('conn')).rejects.toBeInstanceOf(ProviderError);
    const second = (await manager.get('conn').catch((e: unknown) => e)) as RefreshBackoffError;
    expect(second.retryAt).toBe(new Date(now + 60_000).toISOString());
    expect(server.requests).toHaveLength(2);

    now += 61_000;
    server.reply(() => ({ json: { access_token: 'recovered', token_type: 'Bearer', expires_in: 3600 } }));
    const recovered = await manager.get('conn');
    expect(accessToken(recovered)).toBe('recovered');
    expect(recovered.errors).toEqual([]);
  });

  it('returns a still-valid token when a refresh ahead of expiry fails transiently', async () => {
    server.reply(() => ({ status: 500, body: '<html><body>Internal Server Error</body></html>' }));
    const { manager, logs } = setup();
    await createExpiring(manager, 5 * MINUTE);
    const connection = await manager.get('conn');
    expect(accessToken(connection)).toBe('access-0');
    expect(connection.errors).toHaveLength(1);
    expect(logs.lines.some((line) => line.includes('"error":"server_error"'))).toBe(true);
    // Backing off: the next get does not call the provider and still returns the valid token.
    expect(accessToken(await manager.get('conn'))).toBe('access-0');
    expect(server.requests).toHaveLength(1);
  });

  it('honours a 429 Retry-After longer than its own back-off', async () => {
    server.reply(() => ({ status: 429, headers: { 'retry-after': '120' }, json: { error: 'rate_limited' } }));
    const { manager } = setup();
    await createExpiring(manager, 0);
    const error = (await manager.get('conn').catch((e: unknown) => e)) as ProviderError;
    expect(error).toMatchObject({ kind: 'transient', status: 429, retryAfterSeconds: 120 });
    const backoff = (await manager.get('conn').catch((e: unknown) => e)) as RefreshBackoffError;
    expect(backoff.retryAt).toBe(new Date(now + 120_000).toISOString());
  });

  it('classifies an unreachable provider as a transient network error', async () => {
    const { manager } = setup({}, { definition: { authMode: 'OAUTH2', tokenUrl: 'http://127.0.0.1:9/token' } });
    await createExpiring(manager, 0);
    const error = (await manager.get('conn').catch((e: unknown) => e)) as ProviderError;
    expect(error).toMatchObject({ code: 'provider_error', kind: 'transient', error: 'network_error' });
  });

  it('exhausts a connection whose transient failures persist for three days', async () => {
    server.reply(() => ({ status: 502, json: { error: 'bad_gateway' } }));
    const { manager } = setup();
    await createExpiring(manager, 0);
    const started = now;
    let last: unknown;
    while (now - started < 3 * 24 * 60 * MINUTE + MINUTE) {
      last = await manager.get('conn').catch((e: unknown) => e);
      if (last instanceof RefreshExhaustedError) break;
      now += 60 * MINUTE;
    }
    expect(last).toBeInstanceOf(RefreshExhaustedError);
    const attempts = server.requests.length;
    // Capped back-off: at most one attempt an hour over three days.
    expect(attempts).toBeLessThanOrEqual(3 * 24 + 1);
    now += 24 * 60 * MINUTE;
    await expect(manager.get('conn')).rejects.toBeInstanceOf(RefreshExhaustedError);
    expect(server.requests).toHaveLength(attempts);
  });

  it('a forced refresh bypasses exhaustion and its success revives the connection; so does an upsert', async () => {
    server.reply(() => ({
      status: 400,
      json: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' },
    }));
    const { manager } = setup();
    await createExpiring(manager, 0);
    const exhausted = (await manager.get('conn').catch((e: unknown) => e)) as RefreshExhaustedError;
    expect(exhausted).toMatchObject({ code: 'refresh_exhausted', providerError: 'invalid_grant' });

    server.reply(() => ({ json: { access_token: 'revived', token_type: 'Bearer', expires_in: 3600 } }));
    await expect(manager.get('conn')).rejects.toBeInstanceOf(RefreshExhaustedError);
    expect(accessToken(await manager.get('conn', true))).toBe('revived');
    expect((await manager.get('conn')).errors).toEqual([]);

    server.reply(() => ({ status: 400, json: { error: 'invalid_grant' } }));
    await expect(manager.get('conn', true)).rejects.toBeInstanceOf(RefreshExhaustedError);
    await manager.upsert({
      connectionId: 'conn',
      providerConfigKey: 'crm',
      credentials: { type: 'OAUTH2', access_token: 'reconnected', refresh_token: 'r2', expires_in: 3600 },
    });
    const reconnected = await manager.get('conn');
    expect(accessToken(reconnected)).toBe('reconnected');
    expect(reconnected.errors).toEqual([]);
  });

  it('reports refresh.failed and refresh.exhausted events, with ids and codes only', async () => {
    server.reply(() => ({ status: 400, json: { error: 'invalid_grant' } }));
    const { manager } = setup();
    const events: Array<[string, unknown]> = [];
    manager.on('refresh.failed', (event) => events.push(['refresh.failed', event]));
    manager.on('refresh.exhausted', (event) => events.push(['refresh.exhausted', event]));
    manager.on('connection.refreshed', (event) => events.push(['connection.refreshed', event]));
    await createExpiring(manager, 0);
    const error = (await manager.get('conn').catch((e: unknown) => e)) as RefreshExhaustedError;
    const subject = { connectionId: 'conn', providerConfigKey: 'crm', provider: 'crm', authMode: 'OAUTH2' };
    expect(events).toEqual([
      ['refresh.failed', { ...subject, logId: error.logId, error: 'invalid_grant', kind: 'permanent', status: 400 }],
      ['refresh.exhausted', { ...subject, logId: error.logId, error: 'invalid_grant' }],
    ]);
    expect(JSON.stringify(events)).not.toContain('refresh-0');
  });

  it('never puts a token or secret into an error or a log line', async () => {
    server.reply((request) => ({
      status: 400,
      json: {
        error: 'invalid_grant',
        error_description: `refresh token ${request.refreshToken} is not valid for ${server.clientSecret}`,
      },
    }));
    const { manager, logs } = setup();
    await createExpiring(manager, 0);
    const error = (await manager.get('conn').catch((e: unknown) => e)) as RefreshExhaustedError;
    const cause = error.cause as ProviderError;
    const everything = [error.message, JSON.stringify(error), cause.message, JSON.stringify(cause), ...logs.lines].join(
      '\n',
    );
    expect(everything).not.toContain('refresh-0');
    expect(everything).not.toContain(server.clientSecret);
    expect(everything).not.toContain('access-0');
    expect(cause.errorDescription).toContain('[redacted]');
  });
});

/** Wraps a store to count record writes (compare-and-swap calls that succeed). */
function countingWrites(store: StorageAdapter, onWrite: () => void): StorageAdapter {
  return {
    ...store,
    async replace(key, expected, next, options) {
      const written = await store.replace(key, expected, next, options);
      if (written && key.startsWith('connection:')) onWrite();
      return written;
    },
  };
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { type ApiKey, createApiHandler } from '../../src/http.js';
import {
  AccessTokenExpiredError,
  type ConnectionManager,
  type ConnectionManagerOptions,
  RefreshBackoffError,
} from '../../src/index.js';
import type { StorageAdapter } from '../../src/adapter.js';
import { serveOnLoopback } from '../support/api-server.js';
import { captureLogs } from '../support/logs.js';
import { testManager, testClock, type TestClock } from '../support/manager.js';
import { refreshLockName } from '../../src/store/keys.js';
import { startTokenServer, type TokenServer } from '../support/token-server.js';

// Regression: a token valid when `get` started, followed by a refresh that failed for a passing
// reason (a stalled or failing token endpoint, another process's lock), was handed out after its
// expiry, because "still usable" was judged before the refresh only.

const SECOND = 1000;
let server: TokenServer;
let clock: TestClock;

beforeEach(async () => {
  server = await startTokenServer('client_secret_post');
  clock = testClock('2026-11-23T12:00:00.000Z');
});
afterEach(async () => {
  await server.close();
});

function crmManager(options: Partial<ConnectionManagerOptions> = {}): ConnectionManager {
  return testManager({
    integrations: {
      crm: {
        provider: 'crm',
        clientId: server.clientId,
        clientSecret: server.clientSecret,
        definition: { authMode: 'OAUTH2', tokenUrl: server.url },
      },
    },
    clock,
    logger: captureLogs().logger,
    ...options,
  });
}

/** A token that expires one second from now: inside the refresh margin, still usable. */
async function createExpiringSoon(manager: ConnectionManager) {
  await manager.create({
    connectionId: 'conn',
    providerConfigKey: 'crm',
    credentials: {
      type: 'OAUTH2',
      access_token: 'access-0',
      refresh_token: 'refresh-0',
      expires_at: new Date(clock.now() + SECOND).toISOString(),
    },
  });
}

describe('a token that expires while its refresh fails is never handed out', () => {
  it('the token endpoint answers 503 after the token expired: back-off error, not the dead token', async () => {
    const manager = crmManager();
    await createExpiringSoon(manager);
    // The provider takes 1.5 s to answer: the token expires meanwhile.
    server.reply(() => {
      clock.advance(1.5 * SECOND);
      return { status: 503, json: { error: 'temporarily_unavailable' } };
    });

    const failure = await manager.get('conn').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RefreshBackoffError);
    expect(server.requests).toHaveLength(1);
    expect(JSON.stringify(failure)).not.toContain('access-0');
  });

  it('the token endpoint stalls past the request timeout: back-off error, not the dead token', async () => {
    const manager = crmManager({ http: { allowInsecureLoopback: true, timeoutMs: 200 } });
    await createExpiringSoon(manager);
    let stalled!: () => void;
    const arrived = new Promise<void>((resolve) => (stalled = resolve));
    server.reply(() => {
      clock.advance(2 * SECOND);
      stalled();
      return { delayMs: 60_000, json: { access_token: 'too-late', token_type: 'Bearer', expires_in: 3600 } };
    });

    const failure = await manager.get('conn').catch((error: unknown) => error);
    await arrived;
    expect(failure).toBeInstanceOf(RefreshBackoffError);
  });

  it('a token still valid after the failed refresh is still served (the failure recorded)', async () => {
    const manager = crmManager();
    await createExpiringSoon(manager);
    server.reply(() => {
      clock.advance(0.5 * SECOND);
      return { status: 503, json: { error: 'temporarily_unavailable' } };
    });

    const connection = await manager.get('conn');
    expect((connection.credentials as { access_token: string }).access_token).toBe('access-0');
    expect(connection.errors).toEqual([{ type: 'auth', log_id: expect.any(String) as string }]);
  });

  it('waiting on another process’s refresh lock until the token expired: expired error', async () => {
    const store = memoryStore();
    let refusedOnce = false;
    // The real store, observed: the first time the lock is refused (another process holds it),
    // the token's remaining second passes while this process waits.
    const observed: StorageAdapter = {
      ...store,
      locks: {
        release: (name, owner) => store.locks.release(name, owner),
        async tryAcquire(name, owner, leaseMs) {
          const taken = await store.locks.tryAcquire(name, owner, leaseMs);
          if (!taken && !refusedOnce) {
            refusedOnce = true;
            clock.advance(2 * SECOND);
          }
          return taken;
        },
      },
    };
    const manager = crmManager({ store: observed, lock: { waitMs: 100 } });
    await createExpiringSoon(manager);
    const other = await store.locks.tryAcquire(refreshLockName('crm', 'conn'), 'another-process', 60_000);
    expect(other).toBe(true);

    const failure = await manager.get('conn').catch((error: unknown) => error);
    expect(refusedOnce).toBe(true);
    expect(failure).toBeInstanceOf(AccessTokenExpiredError);
    expect(server.requests).toHaveLength(0);
  });

  it('a token with only moments left is not handed out while refreshes back off (chaos soak: 6 ms before expiry)', async () => {
    const manager = crmManager();
    await createExpiringSoon(manager);
    server.reply(() => ({ status: 503, json: { error: 'temporarily_unavailable' } }));
    // The failed refresh starts a back-off; the token, with a second left, is still served.
    const first = await manager.get('conn');
    expect((first.credentials as { access_token: string }).access_token).toBe('access-0');
    expect(server.requests).toHaveLength(1);
    // 100 ms left, refreshes backing off: by the time the caller used it, it would be dead.
    clock.advance(0.9 * SECOND);
    const failure = await manager.get('conn').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RefreshBackoffError);
    expect(JSON.stringify(failure)).not.toContain('access-0');
    expect(server.requests).toHaveLength(1);
  });

  it('through the HTTP API: 424, never a 200 with the dead token', async () => {
    const manager = crmManager();
    await createExpiringSoon(manager);
    server.reply(() => {
      clock.advance(1.5 * SECOND);
      return { status: 503, json: { error: 'temporarily_unavailable' } };
    });
    const key = 'full-access-key-0123456789';
    const apiKeys: ApiKey[] = [{ key, name: 'full' }];
    const api = await serveOnLoopback(createApiHandler({ manager, apiKeys, logger: captureLogs().logger }));
    try {
      const response = await fetch(`${api.url}/connections/conn?provider_config_key=crm`, {
        headers: { authorization: `Bearer ${key}` },
      });
      const text = await response.text();
      expect(response.status).toBe(424);
      expect(JSON.parse(text)).toMatchObject({
        error: { code: 'invalid_credentials', payload: { code: 'connection_refresh_backoff' } },
      });
      expect(text).not.toContain('access-0');
    } finally {
      await api.close();
    }
  });
});

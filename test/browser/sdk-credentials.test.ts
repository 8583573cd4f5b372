/**
 * `@nangohq/frontend`'s credential flow in Chromium: `auth(key, { credentials: { apiKey } })`
 * from an app's page on its own origin posts the key to `latchkey serve` with a connect session
 * the app's backend created. The key is checked against a local API that verifies it; a wrong
 * key ends in the SDK's `AuthError` and stores nothing.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManagerFromConfig, loadConfig } from '../../src/cli/config.js';
import { launchChromium } from '../support/browser.js';
import {
  type AppOrigin,
  BROWSER_TEST_TIMEOUT_MS,
  openApp,
  resolvedValue,
  serveAppOrigin,
} from '../support/browser-page.js';
import {
  configDirectory,
  createSession,
  listConnections,
  readConnection,
  SDK_API_KEY,
  serveInProcess,
} from '../support/sdk-server.js';

const GOOD_KEY = 'sk-live-browser-key';

let browser: Browser;
let app: AppOrigin;
let keyedApi: Server;
let latchkey: Awaited<ReturnType<typeof serveInProcess>>;
let configs: Awaited<ReturnType<typeof configDirectory>>;
let configPath: string;
const checkedKeys: string[] = [];

beforeAll(async () => {
  // A provider API that accepts one key on GET /v1/me (the catalog's verification request).
  keyedApi = createServer((request, response) => {
    const key = String(request.headers['x-api-key'] ?? '');
    checkedKeys.push(key);
    const ok = request.url === '/v1/me' && key === GOOD_KEY;
    response.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(ok ? '{"id":1}' : '{}');
  });
  keyedApi.listen(0, '127.0.0.1');
  await once(keyedApi, 'listening');
  const apiUrl = `http://127.0.0.1:${(keyedApi.address() as AddressInfo).port}`;
  app = await serveAppOrigin();
  configs = await configDirectory();
  configPath = await configs.write({
    // A file both this server and the test's own manager (with a clock of its own) open.
    store: 'sqlite:latchkey.db',
    encryptionKey: randomBytes(32).toString('base64'),
    apiKeys: [{ key: SDK_API_KEY }],
    allowedOrigins: [app.origin],
    http: { allowInsecureLoopback: true },
    integrations: {
      keyed: {
        provider: 'keyed-api',
        definition: {
          authMode: 'API_KEY',
          proxy: { baseUrl: apiUrl, headers: { 'X-Api-Key': '${apiKey}' } },
          verification: { method: 'GET', path: '/v1/me' },
        },
      },
      other: { provider: 'other-api', definition: { authMode: 'API_KEY' } },
    },
    server: { host: '127.0.0.1', port: 0 },
  });
  latchkey = await serveInProcess(configPath);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await latchkey?.stop();
  await app?.close();
  keyedApi?.closeAllConnections();
  await new Promise((resolve) => keyedApi?.close(resolve));
  await configs?.remove();
});

describe('@nangohq/frontend auth() with an API key, in Chromium', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  it('a wrong key ends in the SDK error and stores nothing; the right key creates the connection with the end user', async () => {
    const token = await createSession(latchkey.url, {
      end_user: { id: 'user-42', email: 'ada@example.com', display_name: 'Ada' },
      allowed_integrations: ['keyed'],
    });
    const tab = await openApp(browser, app);
    try {
      const wrong = await tab.start({
        host: latchkey.url,
        connectSessionToken: token,
        method: 'auth',
        providerConfigKey: 'keyed',
        options: { credentials: { apiKey: 'sk-wrong' } },
      });
      expect(wrong).toMatchObject({ ok: false, isAuthError: true });
      expect(wrong).toMatchObject({ type: 'authorization_failed' });
      expect(checkedKeys).toContain('sk-wrong');
      expect(await listConnections(latchkey.url)).toEqual([]);

      // The same session serves a second attempt, as Nango's does.
      const right = await tab.start({
        host: latchkey.url,
        connectSessionToken: token,
        method: 'auth',
        providerConfigKey: 'keyed',
        options: { credentials: { apiKey: GOOD_KEY } },
      });
      expect(right).toEqual({
        ok: true,
        value: { connectionId: expect.stringMatching(/^[0-9a-f-]{36}$/), providerConfigKey: 'keyed' },
      });
      const connectionId = String(resolvedValue(right).connectionId);
      const stored = await readConnection(latchkey.url, connectionId, 'keyed');
      expect(stored.credentials).toMatchObject({ type: 'API_KEY', apiKey: GOOD_KEY });
      expect(stored.end_user).toMatchObject({ id: 'user-42', email: 'ada@example.com' });
      expect(await listConnections(latchkey.url)).toHaveLength(1);
    } finally {
      await tab.close();
    }
    expect(latchkey.log.join('')).not.toContain(GOOD_KEY);
  });

  it('an expired session, a deleted one and a disallowed integration each end in the SDK error, storing nothing', async () => {
    // Made 31 minutes ago by a manager on the same store whose clock says so: expired now.
    const config = await loadConfig(configPath, {});
    const earlier = await createManagerFromConfig({
      ...config,
      manager: { ...config.manager, clock: () => Date.now() - 31 * 60_000 },
    });
    const expired = (await earlier.connectSessions.create({ end_user: { id: 'late-user' } })).token;
    await earlier.close();
    const deleted = await createSession(latchkey.url, { end_user: { id: 'gone-user' } });
    const deletion = await fetch(`${latchkey.url}/connect/session`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${deleted}` },
    });
    expect(deletion.status).toBe(204);
    const narrow = await createSession(latchkey.url, { end_user: { id: 'u-1' }, allowed_integrations: ['keyed'] });
    const before = await listConnections(latchkey.url);

    const tab = await openApp(browser, app);
    try {
      const attempt = (connectSessionToken: string, providerConfigKey: string) =>
        tab.start({
          host: latchkey.url,
          connectSessionToken,
          method: 'auth',
          providerConfigKey,
          options: { credentials: { apiKey: GOOD_KEY } },
        });
      expect(await attempt(expired, 'keyed')).toMatchObject({
        ok: false,
        isAuthError: true,
        type: 'unknown_connect_session_token',
      });
      expect(await attempt(deleted, 'keyed')).toMatchObject({
        ok: false,
        isAuthError: true,
        type: 'unknown_connect_session_token',
      });
      expect(await attempt(narrow, 'other')).toMatchObject({
        ok: false,
        isAuthError: true,
        type: 'integration_not_allowed',
      });
    } finally {
      await tab.close();
    }
    expect(await listConnections(latchkey.url)).toEqual(before);
  });
});

/**
 * `@nangohq/frontend`'s popup flow in Chromium against `latchkey serve` and a real OAuth 2.0
 * server (oidc-provider, whose login and consent pages the test fills in as the end user would):
 * the SDK opens the WebSocket, gets `connection_ack`, opens the popup at `/oauth/connect/:key`
 * with the session token and its `ws_client_id`, and learns the outcome on the socket.
 */
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalAuthorizationServer,
  localIdpIntegration,
  startAuthorizationServer,
} from '../support/authorization-server.js';
import { createManagerFromConfig, loadConfig } from '../../src/cli/config.js';
import { launchChromium } from '../support/browser.js';
import {
  type AppOrigin,
  type AppTab,
  openApp,
  resolvedValue,
  serveAppOrigin,
  signInAtProvider,
  BROWSER_TEST_TIMEOUT_MS,
} from '../support/browser-page.js';
import { freePort } from '../support/free-port.js';
import {
  configDirectory,
  createSession,
  listConnections,
  readConnection,
  SDK_API_KEY,
  serveInProcess,
} from '../support/sdk-server.js';

let browser: Browser;
let app: AppOrigin;
let idp: LocalAuthorizationServer;
let latchkey: Awaited<ReturnType<typeof serveInProcess>>;
let configs: Awaited<ReturnType<typeof configDirectory>>;
let configPath: string;
const tabs: AppTab[] = [];

beforeAll(async () => {
  // The callback URL is registered at the provider before the server starts: a fixed port.
  const port = await freePort();
  const callbackUrl = `http://127.0.0.1:${port}/oauth/callback`;
  idp = await startAuthorizationServer({ redirectUris: [callbackUrl] });
  app = await serveAppOrigin();
  configs = await configDirectory();
  configPath = await configs.write({
    store: 'sqlite:latchkey.db',
    encryptionKey: randomBytes(32).toString('base64'),
    apiKeys: [{ key: SDK_API_KEY }],
    allowedOrigins: [app.origin],
    http: { allowInsecureLoopback: true },
    integrations: {
      idp: localIdpIntegration(idp, { connect: true, consent: true, scopes: ['openid', 'offline_access'] }),
      other: localIdpIntegration(idp, { connect: true }),
    },
    // Session flows: the callback is <publicUrl>/oauth/callback.
    publicUrl: `http://127.0.0.1:${port}`,
    server: { host: '127.0.0.1', port },
  });
  latchkey = await serveInProcess(configPath);
  browser = await launchChromium();
});

afterAll(async () => {
  for (const tab of tabs) await tab.close().catch(() => undefined);
  await browser?.close();
  await latchkey?.stop();
  await app?.close();
  await idp?.close();
  await configs?.remove();
});

async function newTab(): Promise<AppTab> {
  const tab = await openApp(browser, app);
  tabs.push(tab);
  return tab;
}

/** Every URL the tab's browser requested under `prefix` (the provider's `/auth`, Latchkey's callback). */
function recordRequests(tab: AppTab, prefix: string): string[] {
  const seen: string[] = [];
  tab.context.on('request', (request) => {
    if (request.url().startsWith(prefix)) seen.push(request.url());
  });
  return seen;
}

/** Starts `auth()` (or `reconnect()`) in the tab and returns its outcome and the popup it opened. */
async function startPopupFlow(
  tab: AppTab,
  token: string,
  options: { method?: 'auth' | 'reconnect'; key?: string; sdkOptions?: Record<string, unknown> } = {},
) {
  const popup = tab.nextPopup();
  const outcome = tab.start({
    host: latchkey.url,
    connectSessionToken: token,
    method: options.method ?? 'auth',
    providerConfigKey: options.key ?? 'idp',
    ...(options.sdkOptions && { options: options.sdkOptions }),
  });
  return { outcome, popup: await popup };
}

async function providerPage(popup: Page): Promise<void> {
  await popup.waitForURL((url) => url.href.startsWith(`${idp.issuer}/interaction/`));
}

describe(
  '@nangohq/frontend auth() through OAuth 2.0 in a popup, in Chromium',
  { timeout: BROWSER_TEST_TIMEOUT_MS },
  () => {
    it('completes at the provider and resolves the server-assigned connection id, which carries the end user', async () => {
      const token = await createSession(latchkey.url, {
        end_user: { id: 'user-7', email: 'grace@example.com' },
        allowed_integrations: ['idp'],
      });
      const tab = await newTab();
      const { outcome, popup } = await startPopupFlow(tab, token);
      await signInAtProvider(popup, idp.issuer);
      const value = resolvedValue(await outcome);
      expect(value).toMatchObject({ connectionId: expect.stringMatching(/^[0-9a-f-]{36}$/), providerConfigKey: 'idp' });
      const stored = await readConnection(latchkey.url, String(value.connectionId), 'idp');
      expect(stored.credentials).toMatchObject({ type: 'OAUTH2', access_token: expect.any(String) });
      expect(stored.end_user).toMatchObject({ id: 'user-7', email: 'grace@example.com' });
    });

    it('reconnect() with a reconnect session replaces the credentials of the pinned connection', async () => {
      const first = await createSession(latchkey.url, { end_user: { id: 'user-8' }, allowed_integrations: ['idp'] });
      const tab = await newTab();
      const created = await startPopupFlow(tab, first);
      await signInAtProvider(created.popup, idp.issuer);
      const connectionId = String(resolvedValue(await created.outcome).connectionId);
      const before = await readConnection(latchkey.url, connectionId, 'idp');
      const count = (await listConnections(latchkey.url)).length;

      const token = await createSession(
        latchkey.url,
        { connection_id: connectionId, integration_id: 'idp', end_user: { id: 'user-8' } },
        'reconnect',
      );
      // Another browser of the same user: signs in at the provider again.
      const repair = await newTab();
      const { outcome, popup } = await startPopupFlow(repair, token, { method: 'reconnect' });
      await signInAtProvider(popup, idp.issuer);
      expect(resolvedValue(await outcome)).toMatchObject({ connectionId, providerConfigKey: 'idp' });
      const after = await readConnection(latchkey.url, connectionId, 'idp');
      expect(after.credentials.access_token).toEqual(expect.any(String));
      expect(after.credentials.access_token).not.toBe(before.credentials.access_token);
      expect(after.end_user).toMatchObject({ id: 'user-8' });
      expect(await listConnections(latchkey.url)).toHaveLength(count);
    });

    it('a popup closed early rejects with window_closed when detectClosedAuthWindow is set, and nothing is stored', async () => {
      const before = await listConnections(latchkey.url);
      const token = await createSession(latchkey.url, { end_user: { id: 'user-9' }, allowed_integrations: ['idp'] });
      const tab = await newTab();
      const { outcome, popup } = await startPopupFlow(tab, token, { sdkOptions: { detectClosedAuthWindow: true } });
      await providerPage(popup);
      await popup.close();
      expect(await outcome).toMatchObject({ ok: false, isAuthError: true, type: 'window_closed' });
      expect(await listConnections(latchkey.url)).toEqual(before);
    });
  },
);

describe(
  '@nangohq/frontend auth() refused, in Chromium: the SDK rejects and nothing is stored',
  { timeout: BROWSER_TEST_TIMEOUT_MS },
  () => {
    it('an expired session and a disallowed integration are told to the socket before the provider is reached', async () => {
      const before = await listConnections(latchkey.url);
      // Made 31 minutes ago by a manager on the same store whose clock says so: expired now.
      const config = await loadConfig(configPath, {});
      const earlier = await createManagerFromConfig({
        ...config,
        manager: { ...config.manager, clock: () => Date.now() - 31 * 60_000 },
      });
      const expired = (await earlier.connectSessions.create({ end_user: { id: 'late-user' } })).token;
      await earlier.close();
      const narrow = await createSession(latchkey.url, { end_user: { id: 'u-2' }, allowed_integrations: ['idp'] });
      const tab = await newTab();
      const providerVisits = recordRequests(tab, idp.issuer);

      const late = await startPopupFlow(tab, expired);
      expect(await late.outcome).toMatchObject({ ok: false, isAuthError: true, type: 'invalid_connect_session' });
      const other = await startPopupFlow(tab, narrow, { key: 'other' });
      expect(await other.outcome).toMatchObject({ ok: false, isAuthError: true, type: 'integration_not_allowed' });
      expect(providerVisits).toEqual([]);
      expect(await listConnections(latchkey.url)).toEqual(before);
    });

    it('a flow started in one browser and approved in another is refused, and the SDK in the first browser is told', async () => {
      const before = await listConnections(latchkey.url);
      const token = await createSession(latchkey.url, { end_user: { id: 'alice' }, allowed_integrations: ['idp'] });
      const alice = await newTab();
      const authorizeUrls = recordRequests(alice, `${idp.issuer}/auth?`);
      const { outcome, popup } = await startPopupFlow(alice, token);
      await providerPage(popup);
      // The provider's link of Alice's flow reaches Mallory's browser, where Mallory approves her own account.
      const mallory = await newTab();
      const page = await mallory.context.newPage();
      await page.goto(authorizeUrls[0]!);
      await signInAtProvider(page, idp.issuer, 'mallory');
      await page.waitForURL((url) => url.href.startsWith(`${latchkey.url}/oauth/callback`));
      expect(await outcome).toMatchObject({ ok: false, isAuthError: true, type: 'browser_mismatch' });
      expect(await page.locator('body').innerText()).toContain('another browser');
      expect(await listConnections(latchkey.url)).toEqual(before);
    });

    it('a replayed callback is refused in the popup of a new flow, whose SDK is told; nothing changes', async () => {
      const first = await createSession(latchkey.url, { end_user: { id: 'user-r' }, allowed_integrations: ['idp'] });
      const tab = await newTab();
      const callbacks = recordRequests(tab, `${latchkey.url}/oauth/callback?`);
      const done = await startPopupFlow(tab, first);
      await signInAtProvider(done.popup, idp.issuer);
      const connectionId = String(resolvedValue(await done.outcome).connectionId);
      const stored = await readConnection(latchkey.url, connectionId, 'idp');
      const before = await listConnections(latchkey.url);
      expect(callbacks).toHaveLength(1);

      // A new flow in the same browser; its popup is sent to the old callback instead of the provider.
      const second = await createSession(latchkey.url, { end_user: { id: 'user-r' }, allowed_integrations: ['idp'] });
      const again = await startPopupFlow(tab, second);
      await providerPage(again.popup);
      await again.popup.goto(callbacks[0]!);
      expect(await again.outcome).toMatchObject({ ok: false, isAuthError: true, type: 'invalid_state' });
      expect(await listConnections(latchkey.url)).toEqual(before);
      expect((await readConnection(latchkey.url, connectionId, 'idp')).credentials).toEqual(stored.credentials);
    });
  },
);

/**
 * The Connect UI driven by the real `@nangohq/frontend` in Chromium: an app page on another
 * origin calls `openConnectUI({ baseURL, apiURL, onEvent })`, the frame loads and gets the
 * session token, the user connects, and the app receives the SDK's events.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAuthorizationServer } from '../support/authorization-server.js';
import { launchChromium } from '../support/browser.js';
import { freePort } from '../support/free-port.js';
import {
  type Bench,
  GOOD_KEY,
  axeSource,
  connectFrame,
  eventsOf,
  openConnectUi,
  startBench,
  waitForEvent,
} from '../support/connect-ui.js';

let browser: Browser;
let bench: Bench;
let page: Page;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser.close();
});
afterEach(async () => {
  await page?.context().close();
  await bench?.close();
});

async function newPage(): Promise<Page> {
  bench = await startBench();
  const context = await browser.newContext();
  page = await context.newPage();
  return page;
}

describe('Connect UI with openConnectUI', () => {
  it('loads in the frame, gets the token, refuses a bad key with the server message, then connects', async () => {
    await newPage();
    const { token } = await bench.manager.connectSessions.create({ end_user: { id: 'user-1' } });
    await openConnectUi(page, bench, token);
    await page.click('#open');
    const frame = await connectFrame(page);
    expect((await waitForEvent(page, 'ready')).type).toBe('ready');

    // The list: both integrations with display names, searchable.
    await frame.getByRole('button', { name: 'Keyed Api' }).waitFor();
    await frame.getByLabel('Search integrations').fill('login');
    await frame.getByRole('button', { name: 'Login Service' }).waitFor();
    expect(await frame.getByRole('button', { name: 'Keyed Api' }).count()).toBe(0);
    await frame.getByLabel('Search integrations').fill('');
    await frame.getByRole('button', { name: 'Keyed Api' }).click();

    // The form comes from the provider definition: the subdomain field and the API key.
    await frame.getByRole('heading', { name: 'Connect Keyed Api' }).waitFor();
    const subdomain = frame.getByLabel('Subdomain');
    const apiKey = frame.getByLabel('API key');
    expect(await apiKey.getAttribute('type')).toBe('password');

    // Client-side checks mirror the server's: a subdomain off the pattern never leaves the page.
    await subdomain.fill('Not A Subdomain!');
    await apiKey.fill('sk-wrong');
    await frame.getByRole('button', { name: 'Connect', exact: true }).click();
    await frame.getByText('This value does not have the expected form.').waitFor();
    expect(await subdomain.getAttribute('aria-invalid')).toBe('true');
    expect(bench.checks()).toBe(0);

    // A wrong key reaches the provider, which refuses it: the server's own message is shown.
    const direct = await fetch(
      `${bench.latchkey}/api-auth/api-key/keyed?connect_session_token=${token}&params[subdomain]=acme`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ apiKey: 'sk-wrong' }),
      },
    );
    const serverMessage = ((await direct.json()) as { error: { message: string } }).error.message;
    expect(serverMessage.length).toBeGreaterThan(0);
    await subdomain.fill('acme');
    await frame.getByRole('button', { name: 'Connect', exact: true }).click();
    await frame.getByRole('alert').filter({ hasText: serverMessage }).waitFor();
    const refused = await waitForEvent(page, 'error');
    expect(refused.payload).toEqual({ errorType: expect.any(String), errorMessage: serverMessage });
    expect((await bench.manager.list()).connections).toEqual([]);

    // The right key: the app receives `connect` with the connection the server made.
    await apiKey.fill(GOOD_KEY);
    await frame.getByRole('button', { name: 'Connect', exact: true }).click();
    const connected = await waitForEvent(page, 'connect');
    const connectionId = connected.payload!.connectionId!;
    expect(connected.payload).toEqual({
      providerConfigKey: 'keyed',
      connectionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    const stored = await bench.manager.get(connectionId, { providerConfigKey: 'keyed' });
    expect(stored).toMatchObject({
      credentials: { apiKey: GOOD_KEY },
      connection_config: { subdomain: 'acme' },
      end_user: { id: 'user-1' },
    });
    await frame.getByRole('heading', { name: 'Keyed Api is connected' }).waitFor();
    // No secret rendered back.
    expect(await frame.content()).not.toContain(GOOD_KEY);

    // Done closes: the SDK removes the frame on `close`.
    await frame.getByRole('button', { name: 'Close' }).last().click();
    await waitForEvent(page, 'close');
    await page.waitForSelector('#connect-ui', { state: 'detached' });
  });

  it('is completed with the keyboard alone', async () => {
    await newPage();
    const { token } = await bench.manager.connectSessions.create({ end_user: { id: 'user-2' } });
    await openConnectUi(page, bench, token);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('open');
    await page.keyboard.press('Enter');
    const frame = await connectFrame(page);
    await frame.getByLabel('Search integrations').waitFor();
    // Into the frame with Tab until the search field has focus.
    for (let step = 0; step < 6; step++) {
      if ((await frame.evaluate(() => document.hasFocus() && document.activeElement?.id)) === 'search') break;
      await page.keyboard.press('Tab');
    }
    expect(await frame.evaluate(() => document.activeElement?.id)).toBe('search');
    await page.keyboard.type('login');
    await page.keyboard.press('Tab');
    expect(await frame.evaluate(() => document.activeElement?.textContent)).toContain('Login Service');
    await page.keyboard.press('Enter');
    await frame.getByRole('heading', { name: 'Connect Login Service' }).waitFor();
    // Focus moved to the first field; Tab order follows the form.
    expect(await frame.evaluate(() => (document.activeElement as HTMLInputElement).name)).toBe('username');
    await page.keyboard.type('eve');
    await page.keyboard.press('Tab');
    expect(await frame.evaluate(() => (document.activeElement as HTMLInputElement).name)).toBe('password');
    await page.keyboard.type('correct horse');
    await page.keyboard.press('Enter');
    const connected = await waitForEvent(page, 'connect');
    const stored = await bench.manager.get(connected.payload!.connectionId!, { providerConfigKey: 'login' });
    expect(stored.credentials).toMatchObject({ type: 'BASIC', username: 'eve', password: 'correct horse' });
  });

  it('a reconnect session opens on its one integration and replaces that connection', async () => {
    await newPage();
    await bench.manager.create({
      connectionId: 'acct-1',
      providerConfigKey: 'keyed',
      credentials: { type: 'API_KEY', apiKey: 'sk-expired' },
      connectionConfig: { subdomain: 'acme' },
    });
    const { token } = await bench.manager.connectSessions.reconnect({
      connection_id: 'acct-1',
      integration_id: 'keyed',
    });
    await openConnectUi(page, bench, token);
    await page.click('#open');
    const frame = await connectFrame(page);
    await frame.getByRole('heading', { name: 'Connect Keyed Api' }).waitFor();
    expect(await frame.getByRole('button', { name: /Back/ }).count()).toBe(0);
    await frame.getByText('Enter new credentials for your existing connection.').waitFor();
    await frame.getByLabel('Subdomain').fill('acme');
    await frame.getByLabel('API key').fill(GOOD_KEY);
    await frame.getByRole('button', { name: 'Connect', exact: true }).click();
    const connected = await waitForEvent(page, 'connect');
    expect(connected.payload).toEqual({ providerConfigKey: 'keyed', connectionId: 'acct-1' });
    const stored = await bench.manager.get('acct-1', { providerConfigKey: 'keyed' });
    expect(stored.credentials).toMatchObject({ apiKey: GOOD_KEY });
  });

  it('an expired token shows the expiry and sends error', async () => {
    await newPage();
    const { token } = await bench.manager.connectSessions.create({ end_user: { id: 'user-3' } });
    bench.clock.advance(31 * 60_000);
    await openConnectUi(page, bench, token, { lang: 'fr' });
    await page.click('#open');
    const frame = await connectFrame(page);
    await frame.getByRole('heading', { name: 'Ce lien de connexion a expiré' }).waitFor();
    expect(await frame.evaluate(() => document.documentElement.lang)).toBe('fr');
    const error = await waitForEvent(page, 'error');
    expect(error.payload).toEqual({ errorType: 'unknown_connect_session_token', errorMessage: expect.any(String) });
    expect((await eventsOf(page)).some((event) => event.type === 'connect')).toBe(false);
  });

  it('a page on an origin not in allowedOrigins cannot frame it (CSP frame-ancestors)', async () => {
    await newPage();
    const { token } = await bench.manager.connectSessions.create({ end_user: { id: 'user-4' } });
    await openConnectUi(page, bench, token, { origin: bench.stranger });
    const refusal = page.waitForEvent('console', (message) => message.text().includes('frame-ancestors'));
    await page.click('#open');
    expect((await refusal).text()).toContain(bench.latchkey);
    const frame = await connectFrame(page);
    expect(frame.url()).not.toContain('/connect-ui');
    expect(await eventsOf(page)).toEqual([]);
  });

  it('opened from the connect_link as a plain page, it reads the token from the link and drops it from the address', async () => {
    await newPage();
    const { token } = await bench.manager.connectSessions.create({
      end_user: { id: 'user-5' },
      allowed_integrations: ['login'],
    });
    await page.goto(`${bench.latchkey}/connect-ui/?session_token=${token}`);
    await page.getByRole('heading', { name: 'Connect Login Service' }).waitFor();
    expect(page.url()).not.toContain(token);
    // Not embedded: no close button to a parent that is not there.
    expect(await page.getByRole('button', { name: 'Close' }).count()).toBe(0);
  });
});

describe('Connect UI accessibility (axe-core)', () => {
  for (const theme of ['light', 'dark'] as const) {
    it(`has no serious or critical violation in the ${theme} theme (the list, a form showing its errors)`, async () => {
      await newPage();
      const { token } = await bench.manager.connectSessions.create({ end_user: { id: `a11y-${theme}` } });
      await openConnectUi(page, bench, token, { themeOverride: theme });
      await page.click('#open');
      const frame = await connectFrame(page);
      await frame.getByRole('button', { name: 'Keyed Api' }).waitFor();
      expect(await frame.evaluate(() => document.documentElement.dataset.theme)).toBe(theme);
      await frame.evaluate(axeSource());
      const scan = () =>
        frame.evaluate(async () => {
          type Result = { passes: unknown[]; violations: Array<{ id: string; impact: string }> };
          const axe = (window as unknown as { axe: { run(): Promise<Result> } }).axe;
          const result = await axe.run();
          return {
            // Proof the scan ran over the page: the rules it checked and found kept.
            passed: result.passes.length,
            serious: result.violations
              .filter((v) => v.impact === 'serious' || v.impact === 'critical')
              .map((v) => v.id),
          };
        });
      const list = await scan();
      expect(list.passed).toBeGreaterThan(10);
      expect(list.serious).toEqual([]);
      await frame.getByRole('button', { name: 'Keyed Api' }).click();
      await frame.getByRole('button', { name: 'Connect', exact: true }).click();
      await frame.getByText('This field is required.').first().waitFor();
      expect((await scan()).serious).toEqual([]);
    });
  }
});

describe('Connect UI OAuth through the popup and the WebSocket', () => {
  it('completes an OAuth integration at oidc-provider and the app receives connect', async () => {
    const port = await freePort();
    const authServer = await startAuthorizationServer({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback`] });
    try {
      bench = await startBench({
        port,
        integrations: {
          idp: {
            provider: 'local-idp',
            clientId: authServer.postClient.clientId,
            clientSecret: authServer.postClient.clientSecret,
            definition: {
              authMode: 'OAUTH2',
              authorizationUrl: `${authServer.issuer}/auth`,
              tokenUrl: authServer.tokenUrl,
              authorizationParams: { prompt: 'consent' },
              defaultScopes: ['openid'],
            },
          },
        },
      });
      const context = await browser.newContext();
      page = await context.newPage();
      const { token } = await bench.manager.connectSessions.create({
        end_user: { id: 'oauth-user' },
        allowed_integrations: ['idp', 'keyed'],
      });
      await openConnectUi(page, bench, token);
      await page.click('#open');
      const frame = await connectFrame(page);
      await frame.getByRole('button', { name: 'Local Idp' }).click();
      await frame.getByRole('heading', { name: 'Connect Local Idp' }).waitFor();
      const opened = context.waitForEvent('page');
      await frame.getByRole('button', { name: 'Continue in a new window' }).click();
      // The user at the provider: oidc-provider's development sign-in and consent pages.
      const popup = await opened;
      await popup.waitForURL(/\/interaction\//);
      await popup.locator('input[name="login"]').fill('ada');
      await popup.locator('input[name="password"]').fill('any');
      await popup.locator('button[type="submit"]').click();
      await popup.waitForSelector('button[type="submit"]');
      await popup.locator('button[type="submit"]').click();
      const connected = await waitForEvent(page, 'connect');
      expect(connected.payload).toEqual({
        providerConfigKey: 'idp',
        connectionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      const stored = await bench.manager.get(connected.payload!.connectionId!, { providerConfigKey: 'idp' });
      expect(stored).toMatchObject({ credentials: { type: 'OAUTH2' }, end_user: { id: 'oauth-user' } });
      await frame.getByRole('heading', { name: 'Local Idp is connected' }).waitFor();
    } finally {
      await authServer.close();
    }
  });
});

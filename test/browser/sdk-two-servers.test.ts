/**
 * Two `latchkey serve` processes on one PostgreSQL, as behind a load balancer, with the real
 * `@nangohq/frontend` in Chromium: the SDK's WebSocket and popup start on the first, the provider
 * sends the browser back to the second (its callback URL), and the socket held by the first
 * still gets `success` — the outcome travels through the database, not through process memory.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalAuthorizationServer,
  localIdpIntegration,
  startAuthorizationServer,
} from '../support/authorization-server.js';
import { launchChromium } from '../support/browser.js';
import {
  type AppOrigin,
  BROWSER_TEST_TIMEOUT_MS,
  openApp,
  resolvedValue,
  serveAppOrigin,
  signInAtProvider,
} from '../support/browser-page.js';
import { freePort } from '../support/free-port.js';
import { type RunningPostgres, startPostgres } from '../support/postgres.js';
import { configDirectory, createSession, readConnection, SDK_API_KEY, serveProcess } from '../support/sdk-server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'dist/src/cli/index.js');

let browser: Browser;
let app: AppOrigin;
let idp: LocalAuthorizationServer;
let postgres: RunningPostgres;
let configs: Awaited<ReturnType<typeof configDirectory>>;
const servers: Array<Awaited<ReturnType<typeof serveProcess>>> = [];

beforeAll(async () => {
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, encoding: 'utf8' });
  expect(build.stderr + build.stdout).toBe('');
  expect(build.status).toBe(0);
  postgres = await startPostgres();
  const [firstPort, secondPort] = [await freePort(), await freePort()];
  // Both servers send providers' redirects to the second one.
  const callbackUrl = `http://127.0.0.1:${secondPort}/oauth/callback`;
  idp = await startAuthorizationServer({ redirectUris: [callbackUrl] });
  app = await serveAppOrigin();
  configs = await configDirectory();
  const shared = {
    store: await postgres.createDatabase(),
    encryptionKey: randomBytes(32).toString('base64'),
    apiKeys: [{ key: SDK_API_KEY }],
    allowedOrigins: [app.origin],
    http: { allowInsecureLoopback: true },
    integrations: {
      idp: localIdpIntegration(idp, { connect: true, consent: true, scopes: ['openid', 'offline_access'] }),
    },
    // As behind a load balancer: both name one public URL, which here reaches the second.
    publicUrl: `http://127.0.0.1:${secondPort}`,
  };
  for (const port of [firstPort, secondPort]) {
    servers.push(await serveProcess(cli, await configs.write({ ...shared, server: { host: '127.0.0.1', port } })));
  }
  browser = await launchChromium();
}, 400_000);

afterAll(async () => {
  await browser?.close();
  for (const server of servers) await server.stop();
  await app?.close();
  await idp?.close();
  await postgres?.stop();
  await configs?.remove();
});

describe(
  'two latchkey serve processes on one PostgreSQL, with @nangohq/frontend in Chromium',
  { timeout: BROWSER_TEST_TIMEOUT_MS },
  () => {
    it('the popup starts on the first, the callback lands on the second, and the first socket gets success', async () => {
      const [first, second] = servers as [(typeof servers)[0], (typeof servers)[0]];
      const token = await createSession(first.url, { end_user: { id: 'user-lb' }, allowed_integrations: ['idp'] });
      const tab = await openApp(browser, app);
      const callbacks: string[] = [];
      tab.context.on('request', (request) => {
        if (request.url().startsWith(`${second.url}/oauth/callback`)) callbacks.push(request.url());
      });
      try {
        const opened = tab.nextPopup();
        const outcome = tab.start({
          host: first.url,
          connectSessionToken: token,
          method: 'auth',
          providerConfigKey: 'idp',
        });
        await signInAtProvider(await opened, idp.issuer);
        const value = resolvedValue(await outcome);
        expect(value).toMatchObject({ providerConfigKey: 'idp', connectionId: expect.any(String) });
        expect(callbacks).toHaveLength(1);
        // Both read it from the one database.
        for (const server of servers) {
          const stored = await readConnection(server.url, String(value.connectionId), 'idp');
          expect(stored.end_user).toMatchObject({ id: 'user-lb' });
          expect(stored.credentials).toMatchObject({ type: 'OAUTH2', access_token: expect.any(String) });
        }
      } finally {
        await tab.close();
      }
    });
  },
);

/**
 * Takes the Connect UI screenshots in docs/images (light: the list; dark: a form refusing a
 * value), with Debian's Chromium, against a local server. Run after changing the page:
 * `tsx scripts/connect-ui-screenshots.ts`.
 */
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { memoryStore } from '../adapters/memory.js';
import { ConnectionManager } from '../src/index.js';
import { createApiHandler, createConnectUiHandler, toNodeListener } from '../src/http.js';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { buildConnectUi } from './build-connect-ui.js';

const IMAGES = fileURLToPath(new URL('../docs/images/', import.meta.url));

await buildConnectUi();
const manager = new ConnectionManager({
  store: memoryStore(),
  requireEncryption: false,
  logger: { warn: () => undefined, error: () => undefined },
  integrations: {
    'help-desk': {
      provider: 'help-desk',
      definition: { authMode: 'API_KEY', connectionConfig: { subdomain: { pattern: '^[a-z0-9-]+$' } } },
    },
    billing: { provider: 'billing-cloud', definition: { authMode: 'BASIC' } },
    crm: {
      provider: 'acme-crm',
      clientId: 'id',
      clientSecret: 'secret',
      definition: {
        authMode: 'OAUTH2',
        authorizationUrl: 'https://crm.example/authorize',
        tokenUrl: 'https://crm.example/token',
      },
    },
    warehouse: {
      provider: 'data-warehouse',
      definition: { authMode: 'JWT', jwt: { payload: {}, lifetimeSeconds: 300 } },
    },
  },
});
const api = createApiHandler({ manager, apiKeys: [{ key: 'screenshot-key-0123456789' }] });
const ui = createConnectUiHandler();
const server = createServer(
  toNodeListener((request) => (new URL(request.url).pathname.startsWith('/connect-ui') ? ui(request) : api(request))),
);
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const browser = await chromium.launch({
  executablePath: process.env.LATCHKEY_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
try {
  for (const theme of ['light', 'dark'] as const) {
    const { token } = await manager.connectSessions.create({ end_user: { id: 'screenshot' } });
    const page = await browser.newPage({ viewport: { width: 720, height: 560 }, colorScheme: theme });
    await page.goto(`${origin}/connect-ui/?theme=${theme}&session_token=${token}`);
    await page.getByRole('button', { name: 'Help Desk' }).waitFor();
    if (theme === 'dark') {
      await page.getByRole('button', { name: 'Help Desk' }).click();
      await page.getByLabel('Subdomain').fill('Not valid!');
      await page.getByRole('button', { name: 'Connect', exact: true }).click();
      await page.getByText('This field is required.').waitFor();
    }
    await page.screenshot({ path: `${IMAGES}connect-ui-${theme}.png` });
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
  await manager.close();
}

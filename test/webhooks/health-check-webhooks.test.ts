import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import type { AuthWebhookBody } from '../../src/index.js';
import { testClock, testManager } from '../support/manager.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const KEY = 'sk-live-key-0123456789';
const DAY = 24 * 60 * 60_000;

let receiver: WebhookReceiver;
let accepted = true;
const api = createServer((req, res) => {
  const ok = req.url === '/v1/me' && req.headers['x-api-key'] === KEY && accepted;
  res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end('{}');
});
let apiUrl: string;
beforeEach(async () => {
  receiver = await startWebhookReceiver();
  accepted = true;
  api.listen(0, '127.0.0.1');
  await once(api, 'listening');
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await receiver.close();
  api.closeAllConnections();
  await new Promise((resolve) => api.close(resolve));
});

it('a health check that refuses the key sends a refresh failure (invalid_credentials), and the next passing one a recovery', async () => {
  const clock = testClock();
  const manager = testManager({
    store: memoryStore(),
    clock,
    integrations: {
      keyed: {
        provider: 'keyed-api',
        definition: {
          authMode: 'API_KEY',
          proxy: { baseUrl: apiUrl, headers: { 'X-Api-Key': '${apiKey}' } },
          verification: { method: 'GET', path: '/v1/me' },
        },
      },
    },
  });
  await manager.create({
    connectionId: 'acct',
    providerConfigKey: 'keyed',
    credentials: { type: 'API_KEY', apiKey: KEY },
  });
  manager.startWebhooks({ url: receiver.url, secret: 'whsec-0123456789abcdef' });
  const refresher = manager.startBackgroundRefresh();

  accepted = false;
  clock.advance(DAY);
  await refresher.tick();
  await vi.waitFor(() => expect(receiver.received).toHaveLength(1));
  accepted = true;
  clock.advance(DAY);
  await refresher.tick();
  await vi.waitFor(() => expect(receiver.received).toHaveLength(2));

  const [refused, recovered] = receiver.received.map((w) => JSON.parse(w.raw) as AuthWebhookBody);
  expect(refused).toMatchObject({
    operation: 'refresh',
    success: false,
    connectionId: 'acct',
    authMode: 'API_KEY',
    error: { type: 'invalid_credentials' },
  });
  expect(refused?.error?.description).toContain('HTTP 401');
  expect(recovered).toMatchObject({ operation: 'refresh', success: true, connectionId: 'acct' });
  expect(receiver.received.map((w) => w.raw).join('')).not.toContain(KEY);
});

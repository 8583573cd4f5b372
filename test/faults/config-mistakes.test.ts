import { afterEach, beforeEach, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import {
  ConnectionManager,
  IntegrationError,
  RefreshBackoffError,
  RefreshExhaustedError,
  type StorageAdapter,
} from '../../src/index.js';
import { captureLogs } from '../support/logs.js';
import { startTokenServer, type TokenServer } from '../support/token-server.js';

let server: TokenServer;
let now: number;
const managers: ConnectionManager[] = [];
beforeEach(async () => {
  server = await startTokenServer('client_secret_post');
  now = Date.parse('2026-11-23T12:00:00.000Z');
});
afterEach(async () => {
  for (const manager of managers.splice(0)) await manager.close();
  await server.close();
});

function app(store: StorageAdapter, clientSecret: string) {
  const logs = captureLogs();
  const manager = new ConnectionManager({
    store,
    integrations: {
      crm: {
        provider: 'crm',
        clientId: server.clientId,
        clientSecret,
        definition: { authMode: 'OAUTH2', tokenUrl: server.url },
      },
    },
    http: { allowInsecureLoopback: true },
    clock: () => now,
    logger: logs.logger,
    requireEncryption: false,
  });
  managers.push(manager);
  return { manager, logs };
}

it('a wrong client secret is an integration error that backs off, and the connection works once it is fixed', async () => {
  const store = memoryStore();
  const wrongSecret = `${server.clientSecret}-typo`;
  const { manager: broken, logs } = app(store, wrongSecret);
  const events: string[] = [];
  broken.on('integration.failed', (event) =>
    events.push(`integration.failed ${event.providerConfigKey} ${event.error}`),
  );
  broken.on('refresh.exhausted', () => events.push('refresh.exhausted'));
  await broken.create({
    connectionId: 'conn',
    providerConfigKey: 'crm',
    credentials: {
      type: 'OAUTH2',
      access_token: 'access-0',
      refresh_token: 'refresh-0',
      expires_at: new Date(now - 60_000).toISOString(),
    },
  });

  const refused = await broken.get('conn').then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(refused).toBeInstanceOf(IntegrationError);
  expect((refused as IntegrationError).code).toBe('integration_error');
  expect((refused as IntegrationError).providerConfigKey).toBe('crm');
  expect((refused as IntegrationError).message).toContain('"crm"');
  expect((refused as IntegrationError).message).not.toContain(wrongSecret);
  expect(logs.lines.join('\n')).not.toContain(wrongSecret);
  expect(events).toEqual(['integration.failed crm invalid_client']);
  // Backing off: no request to the provider on the next get.
  await expect(broken.get('conn')).rejects.toBeInstanceOf(RefreshBackoffError);
  expect(server.requests).toHaveLength(1);

  // The secret is fixed and the app restarted: after the back-off the connection refreshes.
  const { manager: fixed } = app(store, server.clientSecret);
  now += 31_000;
  const connection = await fixed.get('conn');
  expect((connection.credentials as { access_token: string }).access_token).toBe('access-1');
  expect(connection.errors).toEqual([]);
});

it('invalid_grant still exhausts the connection', async () => {
  server.reply(() => ({ status: 400, json: { error: 'invalid_grant' } }));
  const { manager } = app(memoryStore(), server.clientSecret);
  await manager.create({
    connectionId: 'conn',
    providerConfigKey: 'crm',
    credentials: {
      type: 'OAUTH2',
      access_token: 'access-0',
      refresh_token: 'refresh-0',
      expires_at: new Date(now - 60_000).toISOString(),
    },
  });
  await expect(manager.get('conn')).rejects.toBeInstanceOf(RefreshExhaustedError);
});

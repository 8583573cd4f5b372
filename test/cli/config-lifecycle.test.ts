/**
 * The configuration file's `revokeOnDelete` and `expiringWithinMs`: the manager options of the
 * same names, checked by the manager's schema (a bad value names the field), and in effect in
 * the manager `latchkey serve` and the operator commands build from the file.
 */
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ConfigError, createManagerFromConfig, loadConfig } from '../../src/cli/config.js';

const API_KEY = 'config-lifecycle-api-key-0123456789';
const DAY = 24 * 60 * 60 * 1000;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'latchkey-config-lifecycle-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A revocation endpoint that counts what it is sent. */
async function revocationEndpoint() {
  let requests = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      requests += 1;
      response.writeHead(200).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/revoke`, requests: () => requests };
}

async function managerFrom(name: string, settings: Record<string, unknown>, revocationUrl: string) {
  const path = join(dir, name);
  await writeFile(
    path,
    JSON.stringify({
      store: 'memory',
      apiKeys: [{ key: API_KEY }],
      requireEncryption: false,
      http: { allowInsecureLoopback: true },
      integrations: {
        crm: {
          provider: 'crm',
          clientId: 'client-id',
          clientSecret: 'client-secret',
          definition: {
            authMode: 'OAUTH2',
            tokenUrl: 'https://example.invalid/token',
            revocation: { url: revocationUrl },
          },
        },
      },
      ...settings,
    }),
  );
  const manager = await createManagerFromConfig(await loadConfig(path, {}));
  onTestFinished(() => manager.close());
  // The refresh token lapses in three days, as the provider said when it issued it.
  await manager.create({
    connectionId: 'user-1',
    providerConfigKey: 'crm',
    credentials: {
      type: 'OAUTH2',
      access_token: 'access-1',
      refresh_token: 'refresh-1',
      expires_at: '2999-01-01T00:00:00Z',
      raw: { refresh_token_expires_in: (3 * DAY) / 1000 },
    },
  });
  return manager;
}

describe('revokeOnDelete and expiringWithinMs in the configuration file', () => {
  it('defaults: delete revokes, and a refresh token lapsing within 7 days is expiring', async () => {
    const endpoint = await revocationEndpoint();
    const manager = await managerFrom('defaults.json', {}, endpoint.url);
    expect((await manager.list({ expiring: true })).connections.map((item) => item.connection_id)).toEqual([
      'user-1',
    ]);
    await manager.delete('user-1');
    expect(endpoint.requests()).toBe(1);
  });

  it('revokeOnDelete: false keeps the grant; expiringWithinMs moves the threshold', async () => {
    const endpoint = await revocationEndpoint();
    const manager = await managerFrom('set.json', { revokeOnDelete: false, expiringWithinMs: DAY }, endpoint.url);
    expect((await manager.list({ expiring: true })).connections).toEqual([]);
    expect((await manager.describe('user-1')).lifetime).toMatchObject({ expiring: false });
    await manager.delete('user-1');
    expect(endpoint.requests()).toBe(0);
  });

  it.each([
    [{ revokeOnDelete: 'yes' }, 'revokeOnDelete'],
    [{ expiringWithinMs: -1 }, 'expiringWithinMs'],
    [{ expiringWithinMs: '7d' }, 'expiringWithinMs'],
  ])('refuses %j, naming the field', async (settings, field) => {
    const path = join(dir, `bad-${field}.json`);
    await writeFile(path, JSON.stringify({ store: 'memory', apiKeys: [{ key: API_KEY }], ...settings }));
    const error = await loadConfig(path, {}).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe(field);
  });
});

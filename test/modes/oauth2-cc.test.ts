import { afterEach, describe, expect, it } from 'vitest';
import { type ClientAuthMethod, startClientCredentialsServer } from '../support/token-server.js';
import { pemKeyPair } from '../support/keys.js';
import { testClock, testManager } from '../support/manager.js';
import { strategySuite } from './strategy-suite.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup(method: ClientAuthMethod, options: { expiresIn?: number | undefined; clock?: () => number } = {}) {
  const keys = await pemKeyPair('RS256');
  const server = await startClientCredentialsServer({
    method,
    clientId: 'machine-client',
    clientSecret: 'machine-secret',
    publicKey: keys.publicKey,
    expiresIn: 'expiresIn' in options ? options.expiresIn : 3600,
  });
  const manager = testManager({
    integrations: {
      api: {
        provider: 'machine-api',
        clientId: 'machine-client',
        clientSecret: method === 'private_key_jwt' ? keys.privateKey : 'machine-secret',
        scopes: ['read:orders', 'write:orders'],
        definition: {
          authMode: 'OAUTH2_CC',
          tokenUrl: server.url,
          tokenRequestAuthMethod: method,
          tokenParams: { audience: 'https://api.example.com' },
        },
      },
    },
    clock: options.clock,
  });
  cleanups.push(() => server.close());
  return { manager, server };
}

const tokenOf = (connection: { credentials: unknown }) => (connection.credentials as { token: string }).token;

describe.each(['client_secret_post', 'client_secret_basic', 'private_key_jwt'] as const)(
  'OAUTH2_CC with %s',
  (method) => {
    it('obtains a token with the client-credentials grant, the scopes and the audience', async () => {
      const { manager, server } = await setup(method);
      await manager.create({ connectionId: 'svc', providerConfigKey: 'api', credentials: { type: 'OAUTH2_CC' } });
      const connection = await manager.get('svc');
      expect(server.refusals).toEqual([]);
      expect(tokenOf(connection)).toBe('cc-token-1');
      expect(server.granted[0]?.get('scope')).toBe('read:orders write:orders');
      expect(server.granted[0]?.get('audience')).toBe('https://api.example.com');
    });
  },
);

describe('OAUTH2_CC timing', () => {
  it('reuses the token until it expires within the margin, then obtains a new one; concurrent gets ask once', async () => {
    const clock = testClock('2026-11-23T12:00:00.000Z');
    const { manager, server } = await setup('client_secret_post', { clock });
    await manager.create({ connectionId: 'svc', providerConfigKey: 'api', credentials: { type: 'OAUTH2_CC' } });
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => manager.get('svc')));
    expect(new Set(concurrent.map(tokenOf))).toEqual(new Set(['cc-token-1']));
    expect(server.granted).toHaveLength(1);
    clock.advance(44 * 60_000);
    expect(tokenOf(await manager.get('svc'))).toBe('cc-token-1');
    clock.advance(2 * 60_000); // 14 minutes left of the hour
    expect(tokenOf(await manager.get('svc'))).toBe('cc-token-2');
    expect(server.granted).toHaveLength(2);
  });

  it('assumes 55 minutes when the response has no expires_in', async () => {
    const now = Date.parse('2026-11-23T12:00:00.000Z');
    const { manager } = await setup('client_secret_post', { expiresIn: undefined, clock: () => now });
    await manager.create({ connectionId: 'svc', providerConfigKey: 'api', credentials: { type: 'OAUTH2_CC' } });
    const connection = await manager.get('svc');
    expect((connection.credentials as { expires_at: string }).expires_at).toBe(
      new Date(now + 55 * 60_000).toISOString(),
    );
  });

  it('a wrong secret is refused as invalid_client', async () => {
    const { manager } = await setup('client_secret_basic');
    await manager.create({
      connectionId: 'svc',
      providerConfigKey: 'api',
      credentials: { type: 'OAUTH2_CC', client_id: 'machine-client', client_secret: 'wrong-secret' },
    });
    const error = await manager.get('svc').catch((e: unknown) => e);
    // Issue 12: a configuration mistake, not a dead grant: an integration error, never exhaustion.
    expect(error).toMatchObject({ code: 'integration_error', error: 'invalid_client' });
    expect(JSON.stringify(error)).not.toContain('wrong-secret');
  });
});

strategySuite(
  'OAUTH2_CC',
  async () => {
    const { manager, server } = await setup('client_secret_post');
    return {
      manager,
      input: { connectionId: 'suite', providerConfigKey: 'api', credentials: { type: 'OAUTH2_CC' } },
      async verify(connection) {
        expect(connection.credentials).toMatchObject({
          type: 'OAUTH2_CC',
          client_id: 'machine-client',
          token: 'cc-token-1',
        });
        expect(server.refusals).toEqual([]);
      },
      close: async () => {},
    };
  },
  [
    ['a numeric client id', { type: 'OAUTH2_CC', client_id: 7 }, 'credentials.client_id'],
    ['an unknown field', { type: 'OAUTH2_CC', scope: 'x' }, 'credentials.scope'],
  ],
);

it('OAUTH2_CC with private_key_jwt refuses a client secret that is not an RSA private key', async () => {
  const { manager } = await setup('private_key_jwt');
  await expect(
    manager.create({
      connectionId: 'c',
      providerConfigKey: 'api',
      credentials: { type: 'OAUTH2_CC', client_secret: 'not-a-pem' },
    }),
  ).rejects.toMatchObject({
    code: 'invalid_credentials',
    field: 'credentials.client_secret',
  });
});

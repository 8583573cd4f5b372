/**
 * An error a strategy throws names the connection's integration, even when that integration is
 * gone from the configuration: the strategy's context carries the provider config key its caller
 * had (before, such errors said `Integration "(unknown)" is not configured`).
 */
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import {
  type ConnectionManager,
  type CreateConnectionInput,
  type IntegrationConfig,
  IntegrationError,
  InvalidIntegrationError,
  UnknownIntegrationError,
} from '../../src/index.js';
import { pemKeyPair } from '../support/keys.js';
import { testManager } from '../support/manager.js';
import { startTokenServer } from '../support/token-server.js';

const past = () => new Date(Date.now() - 60_000).toISOString();
/** Nothing listens here: no case below may reach it. */
const NOWHERE = 'http://127.0.0.1:9/token';
const SIGN = { method: 'GET', url: 'https://api.example.com/me' };

interface Case {
  mode: string;
  key: string;
  integration: IntegrationConfig;
  connection: Omit<CreateConnectionInput, 'providerConfigKey' | 'connectionId'>;
  /** What makes the strategy run: a forced `get`, or signing a request. */
  use(manager: ConnectionManager, connectionId: string): Promise<unknown>;
}

const forcedGet = (manager: ConnectionManager, id: string) => manager.get(id, true);
const sign = (manager: ConnectionManager, id: string) => manager.signRequest(id, SIGN);

async function cases(): Promise<Case[]> {
  const appKey = await pemKeyPair('RS256');
  const jwtKey = await pemKeyPair('ES256');
  return [
    {
      mode: 'OAUTH2',
      key: 'crm-prod',
      integration: {
        provider: 'crm',
        clientId: 'c',
        clientSecret: 's',
        definition: { authMode: 'OAUTH2', tokenUrl: NOWHERE },
      },
      connection: { credentials: { type: 'OAUTH2', access_token: 'a', refresh_token: 'r', expires_at: past() } },
      use: forcedGet,
    },
    {
      mode: 'OAUTH2_CC',
      key: 'cc-prod',
      integration: { provider: 'cc', definition: { authMode: 'OAUTH2_CC', tokenUrl: NOWHERE } },
      connection: { credentials: { type: 'OAUTH2_CC', client_id: 'c', client_secret: 's' } },
      use: forcedGet,
    },
    {
      mode: 'APP',
      key: 'github-app-prod',
      integration: { provider: 'gh', appId: '1', appPrivateKey: appKey.privateKey, definition: { authMode: 'APP' } },
      connection: { credentials: { type: 'APP' }, connectionConfig: { installation_id: '1' } },
      use: forcedGet,
    },
    {
      mode: 'CUSTOM',
      key: 'github-custom-prod',
      integration: {
        provider: 'gh',
        appId: '1',
        appPrivateKey: appKey.privateKey,
        clientId: 'c',
        clientSecret: 's',
        definition: { authMode: 'CUSTOM', tokenUrl: NOWHERE },
      },
      connection: {
        credentials: { type: 'CUSTOM', raw: { user: { access_token: 'u', refresh_token: 'r', expires_at: past() } } },
        connectionConfig: { installation_id: '1' },
      },
      use: forcedGet,
    },
    {
      mode: 'BILL',
      key: 'bill-prod',
      integration: { provider: 'bill', definition: { authMode: 'BILL', tokenUrl: NOWHERE } },
      connection: {
        credentials: { type: 'BILL', username: 'u', password: 'p', organization_id: 'o', dev_key: 'd' },
      },
      use: forcedGet,
    },
    {
      mode: 'TWO_STEP',
      key: 'two-step-prod',
      integration: {
        provider: 't',
        definition: { authMode: 'TWO_STEP', twoStep: { tokenRequest: { url: NOWHERE }, tokenPath: 'token' } },
      },
      connection: { credentials: { type: 'TWO_STEP', apiKey: 'k' } },
      use: forcedGet,
    },
    {
      mode: 'JWT',
      key: 'jwt-prod',
      integration: {
        provider: 'j',
        definition: { authMode: 'JWT', jwt: { payload: { iss: 'i' }, lifetimeSeconds: 60 } },
      },
      connection: { credentials: { type: 'JWT', privateKey: jwtKey.privateKey } },
      use: forcedGet,
    },
    {
      mode: 'OAUTH1',
      key: 'oauth1-prod',
      integration: { provider: 'o', clientId: 'c', clientSecret: 's', definition: { authMode: 'OAUTH1' } },
      connection: { credentials: { type: 'OAUTH1', oauth_token: 't', oauth_token_secret: 's' } },
      use: sign,
    },
    {
      mode: 'TBA',
      key: 'netsuite-prod',
      integration: { provider: 'ns', clientId: 'c', clientSecret: 's', definition: { authMode: 'TBA' } },
      connection: {
        credentials: { type: 'TBA', token_id: 't', token_secret: 's' },
        connectionConfig: { accountId: '1' },
      },
      use: sign,
    },
  ];
}

describe('errors thrown from a strategy name the integration', () => {
  it('an integration removed from the configuration is named by its key, in every mode that needs one', async () => {
    const all = await cases();
    const store = memoryStore();
    const before = testManager({
      store,
      integrations: Object.fromEntries(all.map((c) => [c.key, c.integration])),
    });
    for (const c of all) {
      await before.create({ connectionId: `conn-${c.mode}`, providerConfigKey: c.key, ...c.connection });
    }
    // The same store, read by a manager whose configuration no longer has these integrations.
    const after = testManager({ store });
    const named: Record<string, unknown> = {};
    for (const c of all) {
      const error = await c.use(after, `conn-${c.mode}`).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, c.mode).toBeInstanceOf(UnknownIntegrationError);
      named[c.mode] = (error as UnknownIntegrationError).providerConfigKey;
      expect((error as Error).message, c.mode).toContain(`"${c.key}"`);
      expect((error as Error).message, c.mode).not.toContain('(unknown)');
    }
    expect(named).toEqual(Object.fromEntries(all.map((c) => [c.mode, c.key])));
  });

  it('an integration configured without what the strategy needs is named with the field at fault', async () => {
    const broken = testManager({
      store: memoryStore(),
      integrations: { 'oauth1-staging': { provider: 'o', definition: { authMode: 'OAUTH1' } } },
    });
    await broken.create({
      connectionId: 'u',
      providerConfigKey: 'oauth1-staging',
      credentials: { type: 'OAUTH1', oauth_token: 't', oauth_token_secret: 's' },
    });
    const lacking = (await broken.signRequest('u', SIGN).catch((e: unknown) => e)) as InvalidIntegrationError;
    expect(lacking).toBeInstanceOf(InvalidIntegrationError);
    expect(lacking.providerConfigKey).toBe('oauth1-staging');
    expect(lacking.field).toBe('clientId');
    expect(lacking.message).toContain('"oauth1-staging"');
  });

  it('a refusal of the app’s client by the token endpoint (a wrong secret) names the integration', async () => {
    const tokens = await startTokenServer('client_secret_post');
    try {
      const manager = testManager({
        integrations: {
          'crm-eu': {
            provider: 'crm',
            clientId: tokens.clientId,
            clientSecret: 'not-the-secret',
            definition: { authMode: 'OAUTH2', tokenUrl: tokens.url },
          },
        },
      });
      await manager.create({
        connectionId: 'u',
        providerConfigKey: 'crm-eu',
        credentials: { type: 'OAUTH2', access_token: 'a', refresh_token: 'r', expires_at: past() },
      });
      const error = (await manager.get('u').catch((e: unknown) => e)) as IntegrationError;
      expect(error).toBeInstanceOf(IntegrationError);
      expect(error.providerConfigKey).toBe('crm-eu');
      expect(error.message).toContain('"crm-eu"');
    } finally {
      await tokens.close();
    }
  });
});

/**
 * Token-response metadata brought by a refresh (Salesforce's `instance_url`) is validated like every
 * other change of `connection_config`: a value the provider definition refuses is not stored, and
 * the refreshed credentials are (a rotated refresh token is never dropped).
 */
import { describe, expect, it } from 'vitest';
import { captureLogs } from '../support/logs.js';
import { testManager } from '../support/manager.js';
import { startTokenServer } from '../support/token-server.js';
import { testScope } from '../support/scope.js';

const scope = testScope();

/** A Salesforce integration at a local token server, and one connection due for a refresh. */
async function salesforceConnection(connectionId: string, logger = captureLogs().logger) {
  const tokens = await startTokenServer('client_secret_post');
  scope.defer(() => tokens.close());
  const manager = testManager({
    logger,
    integrations: {
      sf: {
        provider: 'salesforce',
        clientId: tokens.clientId,
        clientSecret: tokens.clientSecret,
        definition: { tokenUrl: tokens.url },
      },
    },
  });
  await manager.create({
    connectionId,
    providerConfigKey: 'sf',
    credentials: { type: 'OAUTH2', access_token: 'old', refresh_token: 'refresh-0', expires_in: 60 },
    connectionConfig: { instance_url: 'https://acme.my.salesforce.com' },
  });
  return { tokens, manager };
}

describe('connection_config from a refresh response', () => {
  it('a refused instance_url is not stored, the refreshed tokens are, and the refusal is logged', async () => {
    const logs = captureLogs();
    const { tokens, manager } = await salesforceConnection('org-1', logs.logger);
    tokens.reply(() => ({
      json: {
        access_token: 'new-access',
        refresh_token: 'refresh-1',
        token_type: 'Bearer',
        expires_in: 3600,
        instance_url: 'https://attacker.example/services?x#y',
      },
    }));
    const connection = await manager.get('org-1', { refreshToken: true });
    expect(connection.credentials).toMatchObject({ access_token: 'new-access', refresh_token: 'refresh-1' });
    // Before: the refused value replaced the tenant's instance_url.
    expect(connection.connection_config.instance_url).toBe('https://acme.my.salesforce.com');
    expect(logs.lines.some((line) => line.includes('connection_config the provider definition refuses'))).toBe(true);
    expect(logs.lines.join('\n')).not.toContain('attacker.example');
  });

  it('an accepted instance_url from a refresh is stored', async () => {
    const { tokens, manager } = await salesforceConnection('org-2');
    tokens.reply(() => ({
      json: {
        access_token: 'new',
        token_type: 'Bearer',
        expires_in: 3600,
        instance_url: 'https://acme2.my.salesforce.com',
      },
    }));
    const connection = await manager.get('org-2');
    expect(connection.connection_config.instance_url).toBe('https://acme2.my.salesforce.com');
  });
});

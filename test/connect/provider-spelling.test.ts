import { describe, expect, it } from 'vitest';
import { builtinProviders, type ConnectionManager } from '../../src/index.js';
import { testManager } from '../support/manager.js';
import { testScope } from '../support/scope.js';
import { type SignedApi, startApi } from '../support/signed-apis.js';
import { nangoEntry } from '../support/nango.js';

/**
 * Connect flows of providers that depart from RFC 6749 in their authorization URL or callback,
 * from Nango's entries and the built-in catalog. The provider's redirect back is a URL like any
 * other, so it is written here as the provider documents it; the code exchange goes to a local
 * token endpoint that checks the code and redirect URI.
 */
const scope = testScope();
const CALLBACK = 'https://app.example.com/oauth/callback';

async function authorizeUrl(
  manager: ConnectionManager,
  input: Parameters<ConnectionManager['authorize']>[0],
): Promise<URL> {
  return new URL((await manager.authorize(input)).url);
}

async function startTokenEndpoint(expectedCode: string): Promise<SignedApi> {
  const api = await startApi((request) => {
    const form = new URLSearchParams(request.body);
    if (form.get('grant_type') !== 'authorization_code' || form.get('code') !== expectedCode)
      return { status: 400, body: JSON.stringify({ error: 'invalid_grant' }) };
    if (form.get('redirect_uri') !== CALLBACK) return { status: 400, body: JSON.stringify({ error: 'invalid_grant' }) };
    return {
      status: 200,
      body: JSON.stringify({ access_token: 'at-1', refresh_token: 'rt-1', expires_in: 3600, token_type: 'bearer' }),
    };
  });
  scope.defer(() => api.close());
  return api;
}

describe('callbacks that carry more than a code', () => {
  it('Amazon SP-API (amazon-selling-partner): the code as spapi_oauth_code, the seller id kept', async () => {
    const token = await startTokenEndpoint('amazon-code');
    const manager = testManager({
      integrations: {
        amazon: {
          provider: 'amazon-selling-partner',
          allowedHosts: ['sellercentral.amazon.com'],
          clientId: 'amzn1.app',
          clientSecret: 'secret',
          definition: { ...nangoEntry('amazon-selling-partner'), tokenUrl: token.url },
        },
      },
    });
    const url = await authorizeUrl(manager, {
      providerConfigKey: 'amazon',
      connectionId: 'seller',
      redirectUri: CALLBACK,
      connectionConfig: {
        domain: 'sellercentral.amazon.com',
        applicationId: 'amzn1.sp.solution.app-1',
        subdomain: 'sellingpartnerapi',
        region: 'na',
      },
    });
    expect(url.origin + url.pathname).toBe('https://sellercentral.amazon.com/apps/authorize/consent');
    await expect(
      manager.authorize({
        providerConfigKey: 'amazon',
        connectionId: 'x',
        redirectUri: CALLBACK,
        connectionConfig: {},
      }),
    ).rejects.toMatchObject({ code: 'invalid_request', field: 'connectionConfig.applicationId' });
    expect(url.searchParams.get('application_id')).toBe('amzn1.sp.solution.app-1');
    // What Seller Central sends back: no `code`, its own names.
    const { connection } = await manager.handleCallback({
      state: url.searchParams.get('state') as string,
      spapi_oauth_code: 'amazon-code',
      selling_partner_id: 'A3SELLER',
    });
    expect(token.refusals).toEqual([]);
    expect(connection.connection_config).toMatchObject({ selling_partner_id: 'A3SELLER' });
    expect(connection.credentials).toMatchObject({ access_token: 'at-1' });
  });

  it("QuickBooks (built-in): the company's realmId from the callback is kept", async () => {
    const token = await startTokenEndpoint('intuit-code');
    const manager = testManager({
      integrations: {
        qb: {
          provider: 'quickbooks',
          clientId: 'qb-client',
          clientSecret: 'qb-secret',
          definition: { tokenUrl: token.url },
        },
      },
    });
    expect(builtinProviders.quickbooks?.callbackMetadata).toEqual(['realmId']);
    const url = await authorizeUrl(manager, { providerConfigKey: 'qb', connectionId: 'books', redirectUri: CALLBACK });
    const { connection } = await manager.handleCallback({
      code: 'intuit-code',
      state: url.searchParams.get('state') as string,
      realmId: '9130350000000000',
    });
    expect(connection.connection_config).toMatchObject({ realmId: '9130350000000000' });
  });
});

describe('authorization URLs spelled the provider’s way', () => {
  const authorizeWith = async (name: string, connectionConfig: Record<string, string> = {}, scopes?: string[]) => {
    const manager = testManager({
      integrations: {
        p: {
          provider: name,
          clientId: 'the-client',
          clientSecret: 's',
          ...(scopes ? { scopes } : {}),
          definition: nangoEntry(name),
        },
      },
    });
    return authorizeUrl(manager, {
      providerConfigKey: 'p',
      connectionId: 'c',
      redirectUri: CALLBACK,
      connectionConfig,
    });
  };

  it('TikTok (tiktok-accounts) calls the client id client_key', async () => {
    const url = await authorizeWith('tiktok-accounts');
    expect(url.searchParams.get('client_key')).toBe('the-client');
    expect(url.searchParams.has('client_id')).toBe(false);
  });

  it('monday.com (monday) takes no response_type', async () => {
    const url = await authorizeWith('monday');
    expect(url.searchParams.has('response_type')).toBe(false);
    expect(url.searchParams.get('client_id')).toBe('the-client');
  });

  it('Apollo (apollo-oauth) routes the request after # in its app', async () => {
    const url = await authorizeWith('apollo-oauth');
    expect(url.href.startsWith('https://app.apollo.io/#/oauth/authorize?')).toBe(true);
    expect(new URLSearchParams(url.hash.split('?')[1]).get('client_id')).toBe('the-client');
  });

  it("Pennylane (pennylane) reads its '+'-joined scopes unencoded", async () => {
    const url = await authorizeWith('pennylane', {}, ['customers:all', 'invoices:readonly']);
    expect(url.search).toContain('scope=customers:all+invoices:readonly');
  });
});

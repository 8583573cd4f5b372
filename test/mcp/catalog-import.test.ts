import { getProviders } from '@nangohq/providers';
import { describe, expect, it } from 'vitest';
import { fromNangoProviders, type IntegrationConfig, InvalidRequestError } from '../../src/index.js';
import { testManager } from '../support/manager.js';
import { startJsonServer } from './support/mcp-servers.js';

describe("Nango's MCP_OAUTH2_GENERIC entries", () => {
  const { providers, skipped } = fromNangoProviders(getProviders() as Record<string, unknown>);

  it('are imported, asking the end user for the MCP server URL', () => {
    for (const name of ['mcp-generic', 'cloudflare-mcp']) {
      expect(providers[name]?.authMode).toBe('MCP_OAUTH2_GENERIC');
      expect(Object.keys(providers[name]?.connectionConfig ?? {})).toEqual(['mcp_server_url']);
    }
    expect(skipped.map((entry) => entry.name)).not.toContain('mcp-generic');
  });

  it("refuse a server URL that is not https, as the entry's pattern says, before any request", async () => {
    const manager = testManager({ providers, integrations: { mcp: { provider: 'mcp-generic' } } });
    const error = await manager
      .authorize({
        connectionId: 'c',
        providerConfigKey: 'mcp',
        redirectUri: 'https://app.example/callback',
        connectionConfig: { mcp_server_url: 'http://mcp.example/mcp' },
        connectionConfigSource: 'end-user',
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).field).toBe('connectionConfig.mcp_server_url');
    await manager.close();
  });
});

describe("Nango's MCP_OAUTH2 entries", () => {
  const { providers } = fromNangoProviders(getProviders() as Record<string, unknown>);
  const names = Object.keys(providers).filter((name) => providers[name]?.authMode === 'MCP_OAUTH2');
  const catalog = getProviders() as Record<string, { client_registration?: string; authorization_params?: object }>;

  it('are all imported, with their client registration', () => {
    expect(names).toHaveLength(30);
    const kinds = names.map((name) => providers[name]!.clientRegistration);
    expect(kinds.filter((kind) => kind === 'dynamic')).toHaveLength(26);
    expect(kinds.filter((kind) => kind === 'static')).toHaveLength(4);
    for (const name of names)
      expect([name, providers[name]!.clientRegistration]).toEqual([name, catalog[name]!.client_registration]);
  });

  it('each builds an authorization URL with PKCE S256 and the resource (dynamic ones registering at a local stand-in)', async () => {
    let registered = 0;
    const registrar = await startJsonServer(() => ({
      '/register': { status: 201, body: () => ({ client_id: `registered-${++registered}` }) },
    }));
    try {
      const integrations: Record<string, IntegrationConfig> = {};
      for (const name of names) {
        integrations[name] =
          providers[name]!.clientRegistration === 'dynamic'
            ? { provider: name, definition: { registrationUrl: `${registrar.origin}/register` } }
            : { provider: name, clientId: 'app-client', clientSecret: 'app-secret' };
      }
      const manager = testManager({ providers, integrations });
      for (const name of names) {
        const definition = providers[name]!;
        // A value for each field the entry asks of the user (Supabase's 20-character project ref).
        const connectionConfig = Object.fromEntries(
          Object.entries(definition.connectionConfig ?? {})
            .filter(([, field]) => !field.optional)
            .map(([field]) => [field, 'abcdefghij0123456789']),
        );
        const { url } = await manager.authorize({
          connectionId: 'c',
          providerConfigKey: name,
          redirectUri: 'https://app.example.com/callback',
          connectionConfig,
        });
        const authorization = new URL(url);
        const expected =
          (catalog[name]!.authorization_params as { resource?: string } | undefined)?.resource ??
          (definition.proxy?.baseUrl ?? new URL(definition.authorizationUrl!).origin).replace(/\/+$/, '');
        expect([name, authorization.origin]).toEqual([name, new URL(definition.authorizationUrl!).origin]);
        expect([name, authorization.searchParams.get('code_challenge_method')]).toEqual([name, 'S256']);
        expect([name, authorization.searchParams.get('code_challenge')]).toEqual([
          name,
          expect.stringMatching(/^[\w-]{43}$/),
        ]);
        expect([name, authorization.searchParams.get('resource')]).toEqual([name, expected]);
        expect([name, authorization.searchParams.get('client_id')]).toEqual([
          name,
          definition.clientRegistration === 'dynamic' ? expect.stringMatching(/^registered-/) : 'app-client',
        ]);
      }
      // Once per integration: 26 dynamic integrations, 26 registrations.
      expect(registered).toBe(26);
      await manager.close();
    } finally {
      await registrar.close();
    }
  });
});

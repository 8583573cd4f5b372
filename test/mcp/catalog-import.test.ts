import { getProviders } from '@nangohq/providers';
import { describe, expect, it } from 'vitest';
import { fromNangoProviders, InvalidRequestError } from '../../src/index.js';
import { testManager } from '../support/manager.js';

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

import { describe, expect, it } from 'vitest';
import { ConnectionManager, type IntegrationConfig, InvalidIntegrationError } from '../../src/index.js';
import { testManagerOptions } from '../support/manager.js';
import { mcpOAuth2Integration } from './support/mcp-oauth2.js';

const ISSUER = 'https://as.example.com';
const RESOURCE = 'https://mcp.example.com/mcp';

/** The field a manager built with this one integration refuses, or `undefined` if it is accepted. */
function refusedField(integration: IntegrationConfig): string | undefined {
  try {
    void new ConnectionManager(testManagerOptions({ integrations: { mcp: integration } })).close();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidIntegrationError);
    return (error as InvalidIntegrationError).field;
  }
}

describe('MCP_OAUTH2 integrations are checked when the manager is built', () => {
  it.each([
    [
      'dynamic registration without an endpoint',
      { definition: { registrationUrl: undefined } },
      'definition.registrationUrl',
    ],
    ['an unknown registration kind', { definition: { clientRegistration: 'magic' } }, 'definition.clientRegistration'],
    [
      'registration params of the wrong shape',
      { definition: { registrationParams: { grant_types: 'code' } } },
      'definition.registrationParams.grant_types',
    ],
    [
      'a cimd client id that is not a URL',
      { clientId: 'just-a-name', definition: { clientRegistration: 'cimd' } },
      'clientId',
    ],
    [
      'redirect URIs that are not URLs',
      { clientMetadata: { redirectUris: ['/callback'] } },
      'clientMetadata.redirectUris.0',
    ],
    ['a resource that is not a URL', { definition: { resource: 'mcp server' } }, 'definition.resource'],
    ['no token URL', { definition: { tokenUrl: undefined } }, 'definition.tokenUrl'],
    [
      'a static client without its secret',
      { clientId: 'app', definition: { clientRegistration: 'static' } },
      'clientSecret',
    ],
  ] as Array<[string, Record<string, unknown> & { definition?: object }, string]>)(
    'refuses %s, naming the field',
    (_what, change, field) => {
      const base = mcpOAuth2Integration(ISSUER, RESOURCE);
      const integration = {
        ...base,
        ...change,
        definition: { ...base.definition, ...change.definition },
      } as IntegrationConfig;
      expect(refusedField(integration)).toBe(field);
    },
  );

  it('accepts each registration kind well configured', () => {
    expect(refusedField(mcpOAuth2Integration(ISSUER, RESOURCE))).toBeUndefined();
    expect(
      refusedField(
        mcpOAuth2Integration(ISSUER, RESOURCE, {
          clientId: 'app',
          clientSecret: 'app-secret',
          definition: { clientRegistration: 'static' },
        }),
      ),
    ).toBeUndefined();
    expect(
      refusedField(
        mcpOAuth2Integration(ISSUER, RESOURCE, {
          clientId: 'https://latchkey.example.com/mcp/client-metadata/mcp.json',
          clientMetadata: { redirectUris: ['https://app.example.com/callback'] },
          definition: { clientRegistration: 'cimd' },
        }),
      ),
    ).toBeUndefined();
  });
});

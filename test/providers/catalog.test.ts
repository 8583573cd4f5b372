import { getProviders } from '@nangohq/providers';
import { describe, expect, it } from 'vitest';
import { captureLogs } from '../support/logs.js';
import {
  builtinProviders,
  ConnectionManager,
  fromNangoProviders,
  type IntegrationConfig,
  type ProviderDefinition,
} from '../../src/index.js';

const nango = fromNangoProviders(getProviders() as Record<string, unknown>).providers;

const COMPARED = [
  'authMode',
  'tokenUrl',
  'authorizationUrl',
  'tokenRequestAuthMethod',
  'scopeSeparator',
  'bodyFormat',
  'alternateAccessTokenResponsePath',
  'tokenResponseMetadata',
  'pkce',
  'proxyBaseUrl',
] as const;

/**
 * Where the built-in catalog deliberately differs from Nango's entry, and why. A difference not
 * listed here fails the test: it is an accident until someone decides it.
 */
const DECISIONS: Record<string, string> = {
  'github-app.tokenUrl': 'APP mints through apiBaseUrl + /app/installations/{id}/access_tokens',
  'github-app.authorizationUrl': 'the install redirect belongs to the connect flow, not to minting',
  'github-app-oauth.authorizationUrl': 'as github-app',
  'microsoft.pkce': 'Microsoft identity platform supports PKCE for confidential clients; Latchkey keeps it on',
  'linear.pkce': 'Linear documents PKCE support; Latchkey keeps it on',
  'zoom.tokenRequestAuthMethod': "Zoom's OAuth docs send the client id and secret as HTTP Basic",
  'xero.tokenRequestAuthMethod': "Xero's auth-flow guide uses an HTTP Basic authorization header",
  'quickbooks.tokenRequestAuthMethod': "Intuit's OAuth 2.0 docs use an HTTP Basic authorization header",
  'twitter-v2.tokenUrl': 'X documents api.x.com; api.twitter.com still answers',
  'twitter-v2.proxyBaseUrl': 'as twitter-v2.tokenUrl',
  'twitter.tokenUrl': 'as twitter-v2.tokenUrl',
  'twitter.authorizationUrl': 'as twitter-v2.tokenUrl',
  'twitter.proxyBaseUrl': 'as twitter-v2.tokenUrl',
  'netsuite-tba.tokenUrl': "TBA has no token endpoint; Nango's entry inherits its parent's OAuth 2.0 one",
  'netsuite-tba.authorizationUrl': 'as netsuite-tba.tokenUrl',
  'netsuite-tba.proxyBaseUrl': 'the REST host without a path, so the query and record APIs are both reachable',
  'ghost-admin.proxyBaseUrl': 'the same URL without a trailing slash; manager.fetch joins paths either way',
};

function field(definition: ProviderDefinition, name: (typeof COMPARED)[number]): unknown {
  switch (name) {
    case 'proxyBaseUrl':
      return definition.proxy?.baseUrl;
    case 'tokenRequestAuthMethod':
      return definition.tokenRequestAuthMethod ?? 'client_secret_post';
    case 'scopeSeparator':
      return definition.scopeSeparator ?? ' ';
    case 'bodyFormat':
      return definition.bodyFormat ?? 'form';
    case 'pkce':
      return definition.pkce ?? true;
    default:
      return definition[name];
  }
}

describe('the built-in catalog', () => {
  it('covers the providers users reach for first', () => {
    for (const name of [
      'github',
      'github-app',
      'google',
      'microsoft',
      'salesforce',
      'hubspot',
      'slack',
      'notion',
      'jira',
      'linear',
      'zoom',
      'xero',
      'quickbooks',
      'shopify',
      'stripe',
      'airtable',
      'asana',
      'dropbox',
      'box',
      'gitlab',
      'intercom',
      'zendesk',
      'pipedrive',
      'twitter-v2',
      'trello',
      'netsuite-tba',
      'bill',
      'app-store-connect',
      'ghost-admin',
      'snowflake-jwt',
    ]) {
      expect(builtinProviders[name], name).toBeDefined();
    }
  });

  it('matches Nango’s entry field by field, except for recorded decisions', () => {
    const differences: string[] = [];
    for (const [name, ours] of Object.entries(builtinProviders)) {
      const theirs = nango[name];
      if (!theirs) continue;
      for (const key of COMPARED) {
        const a = field(ours, key);
        const b = field(theirs, key);
        // Nango writes fallbacks as "tenant URL || global URL": matching any alternative agrees.
        const alternatives = typeof b === 'string' ? b.split(' || ').map((part) => part.trim()) : [b];
        if (
          JSON.stringify(a) !== JSON.stringify(b) &&
          !alternatives.some((alt) => JSON.stringify(alt) === JSON.stringify(a))
        ) {
          differences.push(`${name}.${key}`);
        }
      }
    }
    expect(differences.sort()).toEqual(Object.keys(DECISIONS).sort());
  });

  it('every entry resolves into an integration, and an integration overrides any field', () => {
    const integrations: Record<string, IntegrationConfig> = Object.fromEntries(
      Object.keys(builtinProviders).map((name) => [name, { provider: name, clientId: 'id', clientSecret: 's' }]),
    );
    integrations['hubspot-eu'] = {
      provider: 'hubspot',
      clientId: 'id',
      clientSecret: 's',
      definition: { tokenUrl: 'https://api-eu1.hubapi.com/oauth/v1/token' },
    };
    expect(new ConnectionManager({ integrations, logger: captureLogs().logger })).toBeInstanceOf(ConnectionManager);
  });
});

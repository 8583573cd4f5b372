import { getProviders } from '@nangohq/providers';
import { describe, expect, it } from 'vitest';
import { captureLogs } from '../support/logs.js';
import { ConnectionManager, fromNangoProviders, type IntegrationConfig } from '../../src/index.js';

/**
 * Reads Nango's real catalog (the `@nangohq/providers` devDependency; Latchkey does not ship it).
 * The numbers are floors: a change that makes fewer entries usable fails here.
 */
const catalog = getProviders() as Record<string, unknown>;
const imported = fromNangoProviders(catalog);

/** Auth modes Latchkey does not implement, and why (also in the README). */
const UNSUPPORTED_MODES = ['MCP_OAUTH2', 'MCP_OAUTH2_GENERIC', 'AWS_SIGV4', 'INSTALL_PLUGIN'];

/** Entries of supported modes that need something Latchkey lacks, and what. */
const KNOWN_GAPS: Record<string, string> = {
  'sap-success-factors': 'a SAML 2.0 bearer assertion',
};

describe("Nango's provider catalog", () => {
  it('loads every entry of a supported auth mode', () => {
    const total = Object.keys(catalog).length;
    const usable = Object.keys(imported.providers).length;
    console.info(`Nango catalog: ${total} entries, ${usable} usable by Latchkey, ${imported.skipped.length} skipped`);
    expect(total).toBeGreaterThan(900);
    expect(usable).toBeGreaterThanOrEqual(978);
    const byMode = imported.skipped.filter((s) => s.reason.startsWith('auth mode'));
    for (const { reason } of byMode)
      expect(UNSUPPORTED_MODES.some((mode) => reason === `auth mode ${mode} is not supported`)).toBe(true);
    const failures = imported.skipped.filter((s) => !s.reason.startsWith('auth mode')).map((s) => s.name);
    expect(failures.sort()).toEqual(Object.keys(KNOWN_GAPS).sort());
    expect(usable + byMode.length + failures.length).toBe(total);
  });

  it('resolves every usable entry into a working integration', () => {
    const integrations: Record<string, IntegrationConfig> = {};
    for (const name of Object.keys(imported.providers))
      integrations[`int-${name}`] = { provider: name, clientId: 'id', clientSecret: 'secret' };
    const manager = new ConnectionManager({
      providers: imported.providers,
      integrations,
      logger: captureLogs().logger,
    });
    expect(manager).toBeInstanceOf(ConnectionManager);
  });

  it('carries each quirk over', () => {
    const { providers } = imported;
    expect(providers.hubspot).toMatchObject({
      authMode: 'OAUTH2',
      tokenUrl: 'https://api.hubapi.com/oauth/v1/token',
      proxy: { baseUrl: 'https://api.hubapi.com' },
    });
    expect(providers.salesforce?.tokenResponseMetadata).toEqual(['instance_url']);
    expect(providers.slack).toMatchObject({
      scopeSeparator: ',',
      alternateAccessTokenResponsePath: 'authed_user',
      pkce: false,
    });
    expect(providers.notion).toMatchObject({
      bodyFormat: 'json',
      proxy: { headers: { 'notion-version': '2022-06-28' } },
    });
    expect(providers.pipedrive?.tokenRequestAuthMethod).toBe('client_secret_basic');
    expect(providers['github-app']).toMatchObject({ authMode: 'APP', apiBaseUrl: 'https://api.github.com' });
    expect(providers['github-app-oauth']).toMatchObject({
      authMode: 'CUSTOM',
      tokenUrl: 'https://github.com/login/oauth/access_token',
    });
    expect(providers['ghost-admin']?.jwt).toMatchObject({
      algorithm: 'HS256',
      lifetimeSeconds: 300,
      payload: { aud: '/admin/' },
    });
    expect(providers.emarsys?.authMode).toBe('SIGNATURE');
    // An alias inherits its parent's endpoints.
    expect(providers.confluence?.tokenUrl).toBe(providers.jira?.tokenUrl);
    // grant_type is openid-client's to set; Nango's copies are dropped.
    expect(providers.atlassian?.refreshParams).toBeUndefined();
  });
});

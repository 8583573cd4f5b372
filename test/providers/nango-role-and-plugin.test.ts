/**
 * The importer and Nango's two entries of the role-assumption and plugin-install modes:
 * `aws-sigv4` (AWS_SIGV4) and `crisp-plugin-install` (INSTALL_PLUGIN, read as BASIC with
 * `installPlugin`). What they do at run time is in test/modes/aws-sigv4.test.ts and
 * test/sessions/install-plugin.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { fromNangoProviders } from '../../src/index.js';
import { nangoImport } from '../support/nango.js';

describe('the importer: AWS_SIGV4 and INSTALL_PLUGIN', () => {
  it("loads aws-sigv4 from Nango's catalog: the mode, the optional region and service, the regional base URL", () => {
    expect(nangoImport.providers['aws-sigv4']).toEqual({
      authMode: 'AWS_SIGV4',
      connectionConfig: { region: { optional: true }, service: { optional: true } },
      proxy: { baseUrl: 'https://${connectionConfig.service}.${connectionConfig.region}.amazonaws.com' },
    });
  });

  it("loads crisp-plugin-install from Nango's catalog as BASIC with installPlugin, website_id from the callback, and the verification request", () => {
    expect(nangoImport.providers['crisp-plugin-install']).toEqual({
      authMode: 'BASIC',
      installPlugin: true,
      callbackMetadata: ['website_id'],
      proxy: { baseUrl: 'https://api.crisp.chat', headers: { 'x-crisp-tier': 'plugin' } },
      verification: { method: 'GET', path: '/v1/plugin/connect/account' },
    });
  });

  it('leaves out no entry of the catalog, these two included', () => {
    expect(nangoImport.skipped).toEqual([]);
  });

  it('skips a plugin install whose credentials are not BASIC, with the reason', () => {
    const result = fromNangoProviders({
      'plugin-oauth': { auth_mode: 'INSTALL_PLUGIN', auth_type: 'OAUTH2', proxy: { base_url: 'https://x.example' } },
      'plugin-basic': { auth_mode: 'INSTALL_PLUGIN', auth_type: 'BASIC', proxy: { base_url: 'https://x.example' } },
    });
    expect(Object.keys(result.providers)).toEqual(['plugin-basic']);
    expect(result.providers['plugin-basic']).toMatchObject({ authMode: 'BASIC', installPlugin: true });
    expect(result.skipped).toEqual([
      { name: 'plugin-oauth', reason: 'INSTALL_PLUGIN with auth_type OAUTH2 is not supported' },
    ]);
  });
});

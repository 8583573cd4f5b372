/**
 * `fromNangoProviders` on small hand-written entries, one rule at a time. The whole real catalog
 * is run in nango-import.test.ts; here each case shows what one entry turns into, or why it is left out.
 */
import { describe, expect, it } from 'vitest';
import { fromNangoProviders, type NangoImport, type ProviderDefinition } from '../../src/index.js';

/** The definition one entry converts to; fails, with the reason, if it was skipped. */
function converted(entry: Record<string, unknown>): ProviderDefinition {
  const result = fromNangoProviders({ entry });
  expect(result.skipped).toEqual([]);
  return result.providers.entry as ProviderDefinition;
}

/** Why one entry was skipped; fails if it was converted. */
function skipReason(entry: unknown): string {
  const result: NangoImport = fromNangoProviders({ entry });
  expect(result.providers).toEqual({});
  expect(result.skipped).toHaveLength(1);
  expect(result.skipped[0]?.name).toBe('entry');
  return result.skipped[0]?.reason as string;
}

describe('OAUTH2 entries', () => {
  it('keep their URLs, parameters, scopes and token request settings', () => {
    expect(
      converted({
        auth_mode: 'OAUTH2',
        authorization_url: 'https://crm.example/oauth/authorize',
        token_url: 'https://crm.example/oauth/token',
        refresh_url: 'https://crm.example/oauth/refresh',
        authorization_params: { access_type: 'offline', prompt: 'consent' },
        token_params: { grant_type: 'authorization_code', audience: 'api' },
        refresh_params: { grant_type: 'refresh_token' },
        scope_separator: ',',
        default_scopes: ['read', 'write'],
        disable_pkce: true,
        token_request_auth_method: 'basic',
        token_expiration_buffer: 120,
        token_response_metadata: ['instance_url'],
        refresh_token_response_metadata: ['instance_url', 'region'],
        proxy: { base_url: 'https://api.crm.example' },
        docs: 'https://docs.crm.example',
        categories: ['crm'],
      }),
    ).toEqual({
      authMode: 'OAUTH2',
      authorizationUrl: 'https://crm.example/oauth/authorize',
      tokenUrl: 'https://crm.example/oauth/token',
      refreshUrl: 'https://crm.example/oauth/refresh',
      authorizationParams: { access_type: 'offline', prompt: 'consent' },
      // grant_type is the mode's to set; a refresh_params with nothing else is left out.
      tokenParams: { audience: 'api' },
      scopeSeparator: ',',
      defaultScopes: ['read', 'write'],
      pkce: false,
      tokenRequestAuthMethod: 'client_secret_basic',
      tokenExpirationBufferSeconds: 120,
      tokenResponseMetadata: ['instance_url', 'region'],
      proxy: { baseUrl: 'https://api.crm.example' },
    });
  });

  it('read the older authorization_method: header as client_secret_basic', () => {
    const definition = converted({
      auth_mode: 'OAUTH2',
      token_url: 'https://x.example/token',
      authorization_method: 'header',
    });
    expect(definition.tokenRequestAuthMethod).toBe('client_secret_basic');
  });

  it('read token lifetimes in milliseconds as seconds, and a lifetime of 0 as unknown', () => {
    const base = { auth_mode: 'OAUTH2', token_url: 'https://x.example/token' };
    expect(converted({ ...base, token_expires_in_ms: 3_600_000 }).defaultTokenLifetimeSeconds).toBe(3600);
    expect(converted({ ...base, token_expires_in_ms: 0 })).not.toHaveProperty('defaultTokenLifetimeSeconds');
    expect(converted({ ...base, expires_in_unit: 'milliseconds' }).tokenExpiresInMs).toBe(true);
  });

  it('read a token_response block as the paths of the token, refresh token and expiry', () => {
    const base = { auth_mode: 'OAUTH2', token_url: 'https://x.example/token' };
    expect(
      converted({
        ...base,
        token_response: { token: 'data.access', refresh_token: 'data.refresh', token_expiration: 'data.ttl' },
      }).tokenResponse,
    ).toEqual({ accessToken: 'data.access', refreshToken: 'data.refresh', expiresIn: 'data.ttl' });
    expect(
      converted({
        ...base,
        token_response: { token: 'token', token_expiration: 'expires', token_expiration_strategy: 'expireAt' },
      }).tokenResponse,
    ).toEqual({ accessToken: 'token', expiresAt: 'expires' });
  });

  it('are skipped without a token URL, naming it', () => {
    expect(skipReason({ auth_mode: 'OAUTH2', authorization_url: 'https://x.example/authorize' })).toBe(
      'OAUTH2 entry without a token_url',
    );
  });

  it('are skipped when they ask for a token request form Latchkey cannot send', () => {
    const base = { auth_mode: 'OAUTH2', token_url: 'https://x.example/token' };
    expect(skipReason({ ...base, token_request_auth_method: 'tls_client_auth' })).toBe(
      'token request auth method tls_client_auth is not supported',
    );
    expect(skipReason({ ...base, body_format: 'xml' })).toBe('token body format xml is not supported');
    expect(skipReason({ ...base, token_params: { assertion: '${token}' } })).toBe(
      'a JWT-bearer token exchange outside TWO_STEP is not supported',
    );
  });
});

describe('API_KEY and BASIC entries', () => {
  it('API_KEY: the proxy with its headers and query, and the first verification endpoint', () => {
    expect(
      converted({
        auth_mode: 'API_KEY',
        proxy: {
          base_url: 'https://api.openai.example',
          headers: { authorization: 'Bearer ${apiKey}', 'openai-beta': 'assistants=v2', nested: { dropped: true } },
          query: { api_version: 2 },
          verification: { method: 'GET', endpoints: ['/v1/models', '/v1/other'] },
        },
      }),
    ).toEqual({
      authMode: 'API_KEY',
      proxy: {
        baseUrl: 'https://api.openai.example',
        headers: { authorization: 'Bearer ${apiKey}', 'openai-beta': 'assistants=v2' },
        query: { api_version: '2' },
      },
      verification: { method: 'GET', path: '/v1/models' },
    });
  });

  it('API_KEY: a POST verification keeps its method and headers; anything else is a GET', () => {
    const proxy = (verification: Record<string, unknown>) => ({
      auth_mode: 'API_KEY',
      proxy: { base_url: 'https://api.x.example', verification },
    });
    expect(
      converted(proxy({ method: 'POST', endpoints: ['/me'], headers: { 'content-type': 'application/json' } }))
        .verification,
    ).toEqual({ method: 'POST', path: '/me', headers: { 'content-type': 'application/json' } });
    expect(converted(proxy({ method: 'PUT', endpoints: ['/me'] })).verification).toEqual({
      method: 'GET',
      path: '/me',
    });
    expect(converted(proxy({ endpoints: [] }))).not.toHaveProperty('verification');
  });

  it('BASIC: connection_config fields with their pattern, default and optionality; bare ${field} spelled as connectionConfig', () => {
    expect(
      converted({
        auth_mode: 'BASIC',
        proxy: {
          base_url: 'https://${subdomain}.atlassian.example',
          headers: { 'x-site': '${connectionConfig.site}' },
        },
        connection_config: {
          subdomain: { type: 'string', title: 'Subdomain', pattern: '^[a-z0-9-]+$' },
          site: { type: 'string', default_value: 'main' },
          region: { type: 'string', optional: true, default_value: '' },
          cloudId: { type: 'string', automated: true },
          internal: { type: 'string', hidden: true },
          ignored: 'not an object',
        },
        credentials: { username: { type: 'string', default_value: 'api' }, password: { type: 'string' } },
      }),
    ).toEqual({
      authMode: 'BASIC',
      proxy: {
        baseUrl: 'https://${connectionConfig.subdomain}.atlassian.example',
        headers: { 'x-site': '${connectionConfig.site}' },
      },
      connectionConfig: {
        subdomain: { pattern: '^[a-z0-9-]+$' },
        site: { default: 'main' },
        region: { optional: true },
        cloudId: { optional: true },
        internal: { optional: true },
      },
      credentialDefaults: { username: 'api' },
    });
  });

  it('a bare ${name} that is not a connection_config field stays as written', () => {
    const definition = converted({
      auth_mode: 'API_KEY',
      proxy: { base_url: 'https://api.x.example', headers: { 'x-key': '${apiKey}' } },
      connection_config: { subdomain: { type: 'string' } },
    });
    expect(definition.proxy?.headers).toEqual({ 'x-key': '${apiKey}' });
  });
});

describe('entries that are skipped, with the reason', () => {
  it('an auth mode Latchkey does not support', () => {
    const result = fromNangoProviders({
      'future-server': { auth_mode: 'OAUTH3', token_url: 'https://future.example/token' },
      openai: { auth_mode: 'API_KEY' },
    });
    expect(Object.keys(result.providers)).toEqual(['openai']);
    expect(result.skipped).toEqual([{ name: 'future-server', reason: 'auth mode OAUTH3 is not supported' }]);
  });

  it('an entry without an auth mode, and one that is not an object', () => {
    expect(skipReason({ display_name: 'Nothing' })).toBe('auth mode undefined is not supported');
    expect(skipReason('OAUTH2')).toBe('not an object');
    expect(skipReason(null)).toBe('not an object');
  });

  it('an OAuth 1.0 signature method other than HMAC-SHA1, HMAC-SHA256 and PLAINTEXT', () => {
    const base = {
      auth_mode: 'OAUTH1',
      request_url: 'https://x.example/request',
      token_url: 'https://x.example/access',
    };
    expect(skipReason({ ...base, signature_method: 'RSA-SHA1' })).toBe(
      'OAuth 1.0 signature method RSA-SHA1 is not supported',
    );
    expect(
      converted({ ...base, signature_method: 'HMAC-SHA256', request_params: { x_auth_access_type: 'write' } }),
    ).toEqual({
      authMode: 'OAUTH1',
      requestTokenUrl: 'https://x.example/request',
      tokenUrl: 'https://x.example/access',
      requestTokenParams: { x_auth_access_type: 'write' },
      signatureMethod: 'HMAC-SHA256',
    });
  });

  it('a template with an unknown function, naming it', () => {
    expect(
      skipReason({
        auth_mode: 'API_KEY',
        proxy: { base_url: 'https://x.example', headers: { sig: '${md5(${apiKey})}' } },
      }),
    ).toContain('Unknown template function md5()');
  });
});

describe('aliases', () => {
  it('inherit the parent entry, override its fields and merge its proxy', () => {
    const result = fromNangoProviders({
      parent: {
        auth_mode: 'OAUTH2',
        authorization_url: 'https://parent.example/authorize',
        token_url: 'https://parent.example/token',
        proxy: { base_url: 'https://api.parent.example', headers: { 'x-version': '1' } },
      },
      child: {
        alias: 'parent',
        authorization_url: 'https://child.example/authorize',
        proxy: { base_url: 'https://api.child.example' },
      },
    });
    expect(result.skipped).toEqual([]);
    expect(result.providers.child).toEqual({
      authMode: 'OAUTH2',
      authorizationUrl: 'https://child.example/authorize',
      tokenUrl: 'https://parent.example/token',
      proxy: { baseUrl: 'https://api.child.example', headers: { 'x-version': '1' } },
    });
  });

  it('are skipped when they form a cycle or name no entry', () => {
    const result = fromNangoProviders({ a: { alias: 'b' }, b: { alias: 'a' }, orphan: { alias: 'missing' } });
    expect(result.providers).toEqual({});
    expect(result.skipped).toEqual([
      { name: 'a', reason: 'alias cycle through a' },
      { name: 'b', reason: 'alias cycle through b' },
      { name: 'orphan', reason: 'not an object' },
    ]);
  });
});

describe('modes with a template', () => {
  it('JWT: the token block as a template, alg taken out of the header and the fingerprint spelled as Latchkey does', () => {
    const definition = converted({
      auth_mode: 'JWT',
      token: {
        expires_in_ms: 300_000,
        header: { alg: 'RS256', kid: '${credentials.privateKey.id}', typ: 'JWT' },
        payload: { iss: '${account}.${user}.${fingerprint(${credentials.privateKey})}' },
      },
      connection_config: { account: { type: 'string' }, user: { type: 'string' } },
    });
    expect(definition.jwt).toEqual({
      algorithm: 'RS256',
      header: { typ: 'JWT' },
      payload: { iss: '${connectionConfig.account}.${connectionConfig.user}.SHA256:${publicKeyFingerprint}' },
      lifetimeSeconds: 300,
    });
    expect(skipReason({ auth_mode: 'JWT' })).toBe('JWT entry without a token template');
    expect(skipReason({ auth_mode: 'JWT', token: { header: { alg: 'EdDSA' }, payload: {} } })).toBe(
      'JWT algorithm EdDSA is not supported',
    );
  });

  it('TWO_STEP: the token request, the response paths and the refresh request', () => {
    expect(
      converted({
        auth_mode: 'TWO_STEP',
        token_url: 'https://vendor.example/auth/token',
        token_params: { apiKey: '${credentials.apiKey}' },
        token_headers: { 'x-client': 'latchkey' },
        token_response: {
          token: 'data.access_token',
          refresh_token: 'data.refresh_token',
          token_expiration: 'data.expires_in',
        },
        refresh_url: 'https://vendor.example/auth/refresh',
        refresh_token_params: { refresh_token: '${refreshToken}' },
      }).twoStep,
    ).toEqual({
      tokenRequest: {
        method: 'POST',
        url: 'https://vendor.example/auth/token',
        bodyFormat: 'json',
        body: { apiKey: '${credentials.apiKey}' },
        headers: { 'x-client': 'latchkey' },
      },
      tokenPath: 'data.access_token',
      refreshTokenPath: 'data.refresh_token',
      expiry: { strategy: 'expireIn', path: 'data.expires_in' },
      refreshRequest: {
        method: 'POST',
        url: 'https://vendor.example/auth/refresh',
        bodyFormat: 'json',
        body: { refresh_token: '${refreshToken}' },
        headers: { 'x-client': 'latchkey' },
      },
    });
    expect(skipReason({ auth_mode: 'TWO_STEP', token_url: 'https://v.example/t' })).toBe(
      'TWO_STEP entry without token_response.token',
    );
  });
});

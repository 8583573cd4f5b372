import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectionFull, ProviderDefinition } from '../../src/index.js';
import { testManager } from '../support/manager.js';
import { startTokenServer, type TokenReply, type TokenRequest, type TokenServer } from '../support/token-server.js';

const NOW = Date.parse('2026-11-23T12:00:00.000Z');

interface Quirk {
  name: string;
  /** How the provider's token endpoint authenticates and reads requests. */
  server?: { auth?: 'client_secret_basic' | 'client_secret_post'; bodyFormat?: 'form' | 'json' };
  definition?: Partial<ProviderDefinition>;
  reply: (request: TokenRequest) => TokenReply;
  expect: (result: { connection?: ConnectionFull; error?: unknown; server: TokenServer }) => void;
}

const credentialsOf = (c?: ConnectionFull) =>
  c?.credentials as { access_token: string; refresh_token?: string; expires_at?: string; raw: Record<string, unknown> };

/** Real providers' token-endpoint behaviour, each reproduced by the local server. */
const QUIRKS: Quirk[] = [
  {
    name: 'expires_in as a string (some Microsoft and Zoho endpoints)',
    reply: () => ({ json: { access_token: 'A', token_type: 'Bearer', expires_in: '3599' } }),
    expect: ({ connection }) =>
      expect(credentialsOf(connection).expires_at).toBe(new Date(NOW + 3599_000).toISOString()),
  },
  {
    name: 'no expires_in (GitHub OAuth apps): a non-expiring token',
    reply: () => ({ json: { access_token: 'A', token_type: 'bearer', scope: 'repo' } }),
    expect: ({ connection }) => expect(credentialsOf(connection).expires_at).toBeUndefined(),
  },
  {
    name: 'an absolute expiry instead of a lifetime',
    definition: { tokenResponse: { expiresAt: 'expires_at' } },
    reply: () => ({
      json: { access_token: 'A', token_type: 'Bearer', expires_at: new Date(NOW + 7200_000).toISOString() },
    }),
    expect: ({ connection }) =>
      expect(credentialsOf(connection).expires_at).toBe(new Date(NOW + 7200_000).toISOString()),
  },
  {
    name: 'expires_in in milliseconds (Fiserv)',
    definition: { tokenExpiresInMs: true },
    reply: () => ({ json: { access_token: 'A', token_type: 'Bearer', expires_in: 900_000 } }),
    expect: ({ connection }) =>
      expect(credentialsOf(connection).expires_at).toBe(new Date(NOW + 900_000).toISOString()),
  },
  {
    name: 'a refresh without a new refresh token (Google, Cognito) keeps the old one',
    reply: () => ({ json: { access_token: 'A', token_type: 'Bearer', expires_in: 3599 } }),
    expect: ({ connection }) => expect(credentialsOf(connection).refresh_token).toBe('refresh-0'),
  },
  {
    name: 'a rotated refresh token (Xero, Atlassian) replaces the old one',
    reply: () => ({ json: { access_token: 'A', refresh_token: 'rotated', token_type: 'Bearer', expires_in: 1800 } }),
    expect: ({ connection }) => expect(credentialsOf(connection).refresh_token).toBe('rotated'),
  },
  {
    name: 'a JSON-body token endpoint (Notion)',
    server: { auth: 'client_secret_basic', bodyFormat: 'json' },
    definition: { bodyFormat: 'json', tokenRequestAuthMethod: 'client_secret_basic' },
    reply: () => ({ json: { access_token: 'A', token_type: 'bearer', workspace_id: 'ws-1' } }),
    expect: ({ connection, server }) => {
      expect(credentialsOf(connection).access_token).toBe('A');
      expect(server.requests[0]?.grantType).toBe('refresh_token');
    },
  },
  {
    name: 'a Basic-only token endpoint (Pipedrive) refuses credentials in the body',
    server: { auth: 'client_secret_basic' },
    definition: { tokenRequestAuthMethod: 'client_secret_basic' },
    reply: () => ({
      json: { access_token: 'A', token_type: 'Bearer', expires_in: 3600, api_domain: 'https://acme.pipedrive.com' },
    }),
    expect: ({ connection, server }) => {
      expect(server.requests[0]?.clientAuth).toBe('client_secret_basic');
      // Pipedrive's api_domain is lifted into connection_config for the proxy's base URL.
      expect(connection?.connection_config.api_domain).toBe('https://acme.pipedrive.com');
    },
  },
  {
    name: 'HTTP 200 with { ok: false } (Slack) is a provider error, not a token',
    reply: () => ({ json: { ok: false, error: 'invalid_refresh_token' } }),
    expect: ({ error }) =>
      expect(error).toMatchObject({ code: 'refresh_exhausted', providerError: 'invalid_refresh_token' }),
  },
  {
    name: "tokens nested in the response (Slack's authed_user)",
    definition: { alternateAccessTokenResponsePath: 'authed_user', scopeSeparator: ',' },
    reply: () => ({
      json: {
        ok: true,
        team: { id: 'T1' },
        authed_user: {
          id: 'U1',
          access_token: 'xoxp-user',
          refresh_token: 'xoxe-r',
          token_type: 'user',
          expires_in: 43200,
        },
      },
    }),
    expect: ({ connection }) => {
      const credentials = credentialsOf(connection);
      expect(credentials.access_token).toBe('xoxp-user');
      expect(credentials.refresh_token).toBe('xoxe-r');
      expect(credentials.raw.team).toEqual({ id: 'T1' });
    },
  },
  {
    name: 'scope as a comma-separated string, and no token_type (LinkedIn)',
    reply: () => ({ json: { access_token: 'A', expires_in: 5183999, scope: 'r_liteprofile,w_member_social' } }),
    expect: ({ connection }) => expect(credentialsOf(connection).raw.scope).toBe('r_liteprofile,w_member_social'),
  },
  {
    name: 'an HTML error page from a proxy in front of the provider',
    reply: () => ({ status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>' }),
    expect: ({ error }) => expect(error).toMatchObject({ code: 'provider_error', kind: 'transient', status: 502 }),
  },
  {
    name: 'a 429 with Retry-After',
    reply: () => ({ status: 429, headers: { 'retry-after': '90' }, json: { error: 'rate_limit_exceeded' } }),
    expect: ({ error }) =>
      expect(error).toMatchObject({ code: 'provider_error', kind: 'transient', status: 429, retryAfterSeconds: 90 }),
  },
];

const servers: TokenServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

describe.each(QUIRKS)('quirk: $name', (quirk) => {
  it('is handled on the refresh path', async () => {
    const server = await startTokenServer(quirk.server?.auth ?? 'client_secret_post', {
      bodyFormat: quirk.server?.bodyFormat ?? 'form',
    });
    servers.push(server);
    server.reply(quirk.reply);
    const manager = testManager({
      integrations: {
        quirky: {
          provider: 'quirky',
          clientId: server.clientId,
          clientSecret: server.clientSecret,
          definition: {
            authMode: 'OAUTH2',
            tokenUrl: server.url,
            tokenResponseMetadata: ['api_domain'],
            ...quirk.definition,
          },
        },
      },
      clock: () => NOW,
    });
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'quirky',
      credentials: {
        type: 'OAUTH2',
        access_token: 'old',
        refresh_token: 'refresh-0',
        expires_at: new Date(NOW - 1000).toISOString(),
      },
    });
    const result = await manager.get('c', { refreshToken: true }).then(
      (connection) => ({ connection }),
      (error: unknown) => ({ error }),
    );
    quirk.expect({ ...result, server });
    await manager.close();
  });
});

describe('quirks on the client-credentials path', () => {
  it('a JSON-body, Basic-authenticated client-credentials endpoint with nested tokens and no token_type', async () => {
    const server = await startTokenServer('client_secret_basic', {
      bodyFormat: 'json',
      grantType: 'client_credentials',
    });
    servers.push(server);
    server.reply(() => ({ json: { data: { token: 'cc-nested', ttl: 600 } } }));
    const manager = testManager({
      integrations: {
        svc: {
          provider: 'svc',
          clientId: server.clientId,
          clientSecret: server.clientSecret,
          definition: {
            authMode: 'OAUTH2_CC',
            tokenUrl: server.url,
            bodyFormat: 'json',
            tokenRequestAuthMethod: 'client_secret_basic',
            tokenResponse: { accessToken: 'data.token', expiresIn: 'data.ttl' },
          },
        },
      },
      clock: () => NOW,
    });
    await manager.create({ connectionId: 'c', providerConfigKey: 'svc', credentials: { type: 'OAUTH2_CC' } });
    const connection = await manager.get('c');
    expect(server.requests[0]).toMatchObject({ grantType: 'client_credentials', clientAuth: 'client_secret_basic' });
    expect(connection.credentials).toMatchObject({
      token: 'cc-nested',
      expires_at: new Date(NOW + 600_000).toISOString(),
      raw: { data: { token: 'cc-nested', ttl: 600 } },
    });
    await manager.close();
  });
});

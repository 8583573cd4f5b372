import { afterAll, beforeAll, expect } from 'vitest';
import {
  type LocalAuthorizationServer,
  startAuthorizationServer,
  authorizationServerManager,
} from '../support/authorization-server.js';
import { strategySuite } from './strategy-suite.js';

// The OAuth 2.0 refresh itself is tested in test/refresh/oauth2-refresh.test.ts, against the same server.
let server: LocalAuthorizationServer;
beforeAll(async () => {
  server = await startAuthorizationServer();
});
afterAll(async () => {
  await server.close();
});

function managerFor(authMethod: 'client_secret_basic' | 'client_secret_post') {
  return authorizationServerManager(server, authMethod);
}

const expiredAt = () => new Date(Date.now() - 60_000).toISOString();

strategySuite(
  'OAUTH2',
  async () => {
    const manager = managerFor('client_secret_post');
    const { refreshToken } = await server.issueRefreshToken(server.postClient.clientId);
    return {
      manager,
      input: {
        connectionId: 'suite',
        providerConfigKey: 'local',
        credentials: { type: 'OAUTH2', access_token: 'expired', refresh_token: refreshToken, expires_at: expiredAt() },
      },
      async verify(connection) {
        // The authorization server's own userinfo endpoint accepts the refreshed token.
        const token = (connection.credentials as { access_token: string }).access_token;
        const response = await fetch(`${server.issuer}/me`, { headers: { Authorization: `Bearer ${token}` } });
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({ sub: 'user-1' });
      },
      close: () => manager.close(),
    };
  },
  [
    ['a missing access token', { type: 'OAUTH2', refresh_token: 'r' }, 'credentials.access_token'],
    ['an unparseable expiry', { type: 'OAUTH2', access_token: 'a', expires_at: 'tomorrow' }, 'credentials.expires_at'],
    ['a negative expires_in', { type: 'OAUTH2', access_token: 'a', expires_in: -5 }, 'credentials.expires_in'],
  ],
);

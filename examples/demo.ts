/**
 * The main demo: a real OAuth 2.0 authorization server on a loopback port, a SQLite file for
 * storage, and one connection that is created, expires and is refreshed on `get`.
 *
 *   npm install && npm run demo
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectionManager, type OAuth2Credentials } from 'latchkey';
import { sqliteStore } from 'latchkey/adapters/sqlite';
import { startAuthorizationServer } from './support/authorization-server.js';

const directory = await mkdtemp(join(tmpdir(), 'latchkey-demo-'));
const authServer = await startAuthorizationServer({ accessTokenTtl: 3600 });
let now = Date.now();

const manager = new ConnectionManager({
  store: sqliteStore(join(directory, 'connections.db')),
  // Tokens are encrypted at rest; a real app reads this key from its secret store.
  encryptionKey: randomBytes(32).toString('base64'),
  integrations: {
    'local-idp': {
      provider: 'local-idp',
      clientId: authServer.basicClient.clientId,
      clientSecret: authServer.basicClient.clientSecret,
      definition: { authMode: 'OAUTH2', tokenUrl: authServer.tokenUrl, tokenRequestAuthMethod: 'client_secret_basic' },
    },
  },
  // The demo moves time forward instead of waiting an hour.
  clock: () => now,
  // Only because this authorization server listens on plain-HTTP loopback; never in production.
  http: { allowInsecureLoopback: true },
});

const short = (token: string) => `${token.slice(0, 10)}…`;
const tokenOf = (credentials: unknown) => credentials as OAuth2Credentials;

console.log(`Authorization server: ${authServer.issuer} (oidc-provider, refresh-token rotation on)`);
console.log(`Store: SQLite file ${join(directory, 'connections.db')} (credentials encrypted with AES-256-GCM)\n`);

// What an OAuth callback would hand the app: tokens for user-42, valid for an hour.
const { refreshToken } = await authServer.issueRefreshToken(authServer.basicClient.clientId, 'user-42');
await manager.create({
  connectionId: 'user-42',
  providerConfigKey: 'local-idp',
  credentials: { type: 'OAUTH2', access_token: 'initial-access-token', refresh_token: refreshToken, expires_in: 3600 },
  tags: { plan: 'pro' },
});
console.log('1. Created connection user-42; its access token expires in 60 minutes.');

const fresh = await manager.get('user-42');
console.log(
  `2. get → ${short(tokenOf(fresh.credentials).access_token)} (still fresh: ${authServer.tokenRequests()} token requests)`,
);

now += 50 * 60_000;
const refreshed = await manager.get('user-42');
const credentials = tokenOf(refreshed.credentials);
console.log(
  `3. 50 minutes later, inside the 15-minute margin: get → ${short(credentials.access_token)}, refreshed ` +
    `(token requests: ${authServer.tokenRequests()}), expires ${credentials.expires_at}`,
);
console.log(
  `   credentials returned: ${Object.keys(credentials).join(', ')} — the refresh token is withheld unless asked`,
);

const withRefreshToken = tokenOf((await manager.get('user-42', { refreshToken: true })).credentials);
console.log(`4. get({ refreshToken: true }) → rotated refresh token ${short(withRefreshToken.refresh_token ?? '')}`);

const concurrent = await Promise.all(Array.from({ length: 20 }, () => manager.get('user-42', true)));
const distinct = new Set(concurrent.map((c) => tokenOf(c.credentials).access_token)).size;
console.log(
  `5. 20 concurrent forced gets → ${distinct} new token, 1 more token request (total ${authServer.tokenRequests()})`,
);

const { connections } = await manager.list({ tags: { plan: 'pro' } });
console.log(
  `6. list({ tags: { plan: 'pro' } }) → ${JSON.stringify(connections.map((c) => ({ id: c.id, connection_id: c.connection_id, tags: c.tags })))}`,
);

await manager.close();
await authServer.close();
await rm(directory, { recursive: true, force: true });
console.log('\nDone: no account, no server to run — the refresh happened inside this process.');

/**
 * The main demo: a real OAuth 2.0 authorization server on a loopback port, a SQLite file for
 * storage, and one connection that is created, expires and is refreshed on `get`; then the
 * background refresher keeps an idle grant alive, finds a revoked one, and health-checks an API key.
 *
 *   npm install && npm run demo
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectionManager, type OAuth2Credentials } from 'latchkey';
import { sqliteStore } from 'latchkey/adapters/sqlite';

// The authorization server below is oidc-provider, a development stand-in for a real provider. On
// Node 20 it prints "Unsupported runtime. Use Node.js v22.x LTS…" as it loads: its own support
// policy, not Latchkey's (Latchkey supports Node 20). The demo hides that one line and nothing else.
const { startAuthorizationServer } = await quietly(
  /^oidc-provider WARNING: Unsupported runtime/,
  () => import('./support/authorization-server.js'),
);

const directory = await mkdtemp(join(tmpdir(), 'latchkey-demo-'));
const authServer = await startAuthorizationServer({ accessTokenTtl: 3600 });
let now = Date.now();

// A small API whose key check can be switched off, for the health check (a real one: OpenAI's /v1/models).
let keyAccepted = true;
const api = createServer((req, res) => {
  const ok = keyAccepted && req.headers['x-api-key'] === 'demo-api-key';
  res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(ok ? '{"id":"acct-1"}' : '{}');
});
api.listen(0, '127.0.0.1');
await once(api, 'listening');

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
    'keyed-api': {
      provider: 'keyed-api',
      definition: {
        authMode: 'API_KEY',
        proxy: {
          baseUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
          headers: { 'x-api-key': '${apiKey}' },
        },
        // Sent by the health check (and by manager.connect), as Nango's proxy.verification.
        verification: { method: 'GET', path: '/me' },
      },
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

// The background refresher: unused grants refreshed daily, keys checked daily, failures reported.
const refresher = manager.startBackgroundRefresh({ intervalMs: 60_000 });
for (const name of ['connection.refreshed', 'refresh.exhausted', 'credentials.invalid'] as const) {
  manager.on(name, (event) => console.log(`   event ${name}: ${event.connectionId}`));
}
const revoked = await authServer.issueRefreshToken(authServer.basicClient.clientId, 'user-43');
await manager.create({
  connectionId: 'user-43',
  providerConfigKey: 'local-idp',
  credentials: { type: 'OAUTH2', access_token: 'a', refresh_token: revoked.refreshToken, expires_in: 30 * 86_400 },
});
await manager.create({
  connectionId: 'acct-7',
  providerConfigKey: 'keyed-api',
  credentials: { type: 'API_KEY', apiKey: 'demo-api-key' },
});
await authServer.revokeGrant(revoked.grantId); // user-43 disconnected the app at the provider
keyAccepted = false; // and acct-7's key was rotated away
console.log('7. Background refresher started; user-43 revoked its grant, acct-7’s key stopped working.');
now += 25 * 60 * 60_000;
const tick = await refresher.tick();
console.log(
  `8. 25 idle hours later, one pass: due ${tick.due}, refreshed ${tick.refreshed}, failed ${tick.failed}, ` +
    `health-checked ${tick.healthChecked} (invalid ${tick.invalid})`,
);
const banner = (await manager.list()).connections
  .filter((c) => c.status.state === 'needs_reconnect')
  .map((c) => `${c.connection_id} (${c.status.refresh?.error ?? `HTTP ${c.status.credentials_check?.status}`})`);
console.log(`9. "Reconnect" banner from list() alone: ${banner.join(', ')}`);

await manager.close();
api.close();
await authServer.close();
await rm(directory, { recursive: true, force: true });
console.log('\nDone: no account, no server to run — the refresh happened inside this process.');

/** Runs `load` with console.warn lines matching `pattern` dropped (ANSI colours ignored). */
async function quietly<T>(pattern: RegExp, load: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    // eslint-disable-next-line no-control-regex -- stripping the colour codes oidc-provider adds on a terminal
    if (typeof args[0] === 'string' && pattern.test(args[0].replace(/\u001b\[[0-9;]*m/g, ''))) return;
    warn(...args);
  };
  try {
    return await load();
  } finally {
    console.warn = warn;
  }
}

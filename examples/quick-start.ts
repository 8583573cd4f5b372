/**
 * The README's quick start. `npx tsc -p tsconfig.json` type-checks it under `strict`, and
 * test/docs/docs.test.ts fails if the README's copy of the region below differs from it.
 */
// #region quick-start
import { ConnectionManager } from 'latchkey';
import { sqliteStore } from 'latchkey/adapters/sqlite';

const manager = new ConnectionManager({
  store: sqliteStore('./connections.db'),
  // 32 random bytes, base64 (openssl rand -base64 32). Without it, secrets are stored in plain text.
  encryptionKey: process.env.LATCHKEY_ENCRYPTION_KEY,
  integrations: {
    'github-prod': {
      provider: 'github',
      clientId: process.env.GITHUB_CLIENT_ID,
      clientSecret: process.env.GITHUB_CLIENT_SECRET,
    },
  },
});

// Store the tokens your OAuth callback received (manager.authorize and
// manager.handleCallback can run that flow for you).
await manager.upsert({
  connectionId: 'user-42',
  providerConfigKey: 'github-prod',
  credentials: { type: 'OAUTH2', access_token: 'gho_example', refresh_token: 'ghr_example', expires_in: 28_800 },
});

// Anywhere in your app: working credentials, refreshed first if they expire within 15 minutes.
const connection = await manager.get('user-42', { providerConfigKey: 'github-prod' });

// `credentials` is a union of 17 shapes, one per auth mode; `type` tells them apart.
if (connection.credentials.type === 'OAUTH2') {
  const response = await fetch('https://api.github.com/user', {
    headers: { Authorization: `Bearer ${connection.credentials.access_token}` },
  });
  console.log(response.status);
}

await manager.close();
// #endregion quick-start

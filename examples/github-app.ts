/**
 * A GitHub App connection against a local stand-in for GitHub's API, which verifies the app JWT
 * the way GitHub does. Run: npm run example:github-app
 *
 * With the real GitHub, drop `apiBaseUrl` and `allowInsecureLoopback`, and use your app's id and
 * private key (the .pem GitHub gave you).
 */
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { type AppCredentials, ConnectionManager } from 'latchkey';
import { startGitHubFake } from './support/github-fake.js';

// A throwaway app key for the demo; GitHub would hold the public half.
const keys = await generateKeyPair('RS256', { extractable: true });
const appPrivateKey = await exportPKCS8(keys.privateKey);
const github = await startGitHubFake({
  appId: '123456',
  appPublicKey: await exportSPKI(keys.publicKey),
  installations: ['987654'],
});

const manager = new ConnectionManager({
  integrations: {
    'github-app': {
      provider: 'github-app',
      appId: '123456',
      appPrivateKey,
      definition: { authMode: 'APP', apiBaseUrl: github.apiBaseUrl },
    },
  },
  http: { allowInsecureLoopback: true }, // the fake listens on plain-HTTP loopback
});

// The installation id arrives on your app's setup URL when an organization installs the app.
await manager.create({
  connectionId: 'acme-org',
  providerConfigKey: 'github-app',
  credentials: { type: 'APP' },
  connectionConfig: { installation_id: '987654' },
});

const { credentials } = await manager.get('acme-org');
const { access_token, expires_at } = credentials as AppCredentials;
console.log(`installation token ${access_token.slice(0, 12)}… expires ${expires_at}`);

const response = await fetch(`${github.apiBaseUrl}/installation/repositories`, {
  headers: { Authorization: `Bearer ${access_token}`, Accept: 'application/vnd.github+json' },
});
console.log(`GET /installation/repositories → ${response.status}`, await response.json());

const again = (await manager.get('acme-org')).credentials as AppCredentials;
console.log(`second get reuses it: ${again.access_token === access_token} (tokens minted: ${github.issued()})`);

await manager.close();
await github.close();

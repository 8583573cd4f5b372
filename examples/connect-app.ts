/**
 * A small web app to click through a connect flow in a browser, against a local authorization
 * server (oidc-provider: sign in with any name and password). Run:
 *
 *   npm run example:connect      # then open http://127.0.0.1:3000
 *
 * PORT changes the app's port. Nothing here needs an account or the internet.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import { ConnectionManager, type OAuth2Credentials } from 'latchkey';
import { createConnectHandler, toNodeListener } from 'latchkey/http';
import { startAuthorizationServer } from './support/authorization-server.js';
import { answer } from './support/answer.js';

const port = Number(process.env.PORT ?? 3000);
const appUrl = `http://127.0.0.1:${port}`;
const authServer = await startAuthorizationServer({ redirectUris: [`${appUrl}/oauth/callback`] });

const manager = new ConnectionManager({
  integrations: {
    'local-idp': {
      provider: 'local-idp',
      clientId: authServer.basicClient.clientId,
      clientSecret: authServer.basicClient.clientSecret,
      scopes: ['openid', 'offline_access'],
      definition: {
        authMode: 'OAUTH2',
        authorizationUrl: `${authServer.issuer}/auth`,
        tokenUrl: authServer.tokenUrl,
        tokenRequestAuthMethod: 'client_secret_basic',
        authorizationParams: { prompt: 'consent' },
      },
    },
  },
  http: { allowInsecureLoopback: true }, // both servers are plain-HTTP loopback
});
manager.on('connection.created', (event) => console.log('connection.created', event));

const connect = createConnectHandler({
  manager,
  callbackUrl: `${appUrl}/oauth/callback`,
  allowedRedirectUrls: [`${appUrl}/done`],
  // A real app reads its session here; the demo has a single user.
  authorizeConnection: () => 'demo-user',
});

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
const server = createServer(
  answer(async (req, res) => {
    const url = new URL(req.url ?? '/', appUrl);
    if (url.pathname === '/') {
      const start = `/oauth/connect/local-idp?connection_id=demo-user&api_redirect_url=${encodeURIComponent(`${appUrl}/done`)}`;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(`<!doctype html><title>Latchkey demo</title>
<h1>Latchkey connect demo</h1><p><a href="${start}">Connect your (local) account</a></p>`);
      return;
    }
    if (url.pathname === '/done') {
      let body: string;
      if (url.searchParams.get('message_type') === 'error') {
        body = `<p>Connection failed: ${escape(url.searchParams.get('error_type') ?? '')} — ${escape(url.searchParams.get('error_desc') ?? '')}</p>`;
      } else {
        const connection = await manager.get(url.searchParams.get('connection_id') ?? '', {
          providerConfigKey: url.searchParams.get('provider_config_key') ?? '',
        });
        const { access_token, expires_at } = connection.credentials as OAuth2Credentials;
        body = `<p>Connected <b>${escape(connection.connection_id)}</b> to <b>${escape(connection.provider_config_key)}</b>.</p>
<p>Access token ${escape(access_token.slice(0, 8))}… expires ${escape(expires_at ?? 'never')}.</p>`;
      }
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(`<!doctype html><title>Latchkey demo</title>${body}<p><a href="/">Again</a></p>`);
      return;
    }
    toNodeListener(connect)(req, res);
  }),
);
server.listen(port, '127.0.0.1');
await once(server, 'listening');
console.log(`Open ${appUrl} — the authorization server is ${authServer.issuer} (sign in with any name).`);

process.once('SIGINT', () => {
  server.close();
  Promise.all([manager.close(), authServer.close()])
    .catch((error: unknown) => console.error('could not close cleanly:', error))
    .finally(() => process.exit(0));
});

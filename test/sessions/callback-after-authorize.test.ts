/**
 * Regression: a flow started with `manager.authorize` whose callback reached the connect handler
 * stored the connection, then showed the user "This authorization link is invalid or was already
 * used" with a 400.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalAuthorizationServer,
  startAuthorizationServer,
} from '../../examples/support/authorization-server.js';
import { createConnectHandler } from '../../src/http.js';
import { ConnectionManager } from '../../src/index.js';
import { serveOnLoopback } from '../support/api-server.js';
import { testManagerOptions } from '../support/manager.js';
import { actAsUser } from '../support/user-agent.js';

let authServer: LocalAuthorizationServer;
beforeAll(async () => {
  authServer = await startAuthorizationServer({ redirectUris: ['http://127.0.0.1:1/oauth/callback'] });
});
afterAll(async () => {
  await authServer.close();
});

async function setUp(defaultRedirectUrl?: string) {
  const manager = new ConnectionManager(
    testManagerOptions({
      integrations: {
        idp: {
          provider: 'local-idp',
          clientId: authServer.postClient.clientId,
          clientSecret: authServer.postClient.clientSecret,
          definition: {
            authMode: 'OAUTH2',
            authorizationUrl: `${authServer.issuer}/auth`,
            tokenUrl: authServer.tokenUrl,
            authorizationParams: { prompt: 'consent' },
          },
        },
      },
    }),
  );
  // The callback URL registered at the provider; the handler is reached at it through `fetch`.
  const callbackUrl = 'http://127.0.0.1:1/oauth/callback';
  const handler = createConnectHandler({
    manager,
    callbackUrl,
    allowedRedirectUrls: ['http://127.0.0.1:1/app/'],
    // The signed-in user may connect the id the app gave `authorize` (a cookie would say who they are).
    authorizeConnection: (_request, asked) => asked.connectionId,
    ...(defaultRedirectUrl && { defaultRedirectUrl }),
  });
  const server = await serveOnLoopback(handler);
  return { manager, callbackUrl, server };
}

async function callbackThroughHandler(setup: Awaited<ReturnType<typeof setUp>>, login: string) {
  const { url } = await setup.manager.authorize({
    providerConfigKey: 'idp',
    connectionId: login,
    redirectUri: setup.callbackUrl,
    scopes: ['openid'],
  });
  const callback = await actAsUser(url, { login });
  // The provider sent the browser to the callback URL; the handler serves that path.
  return fetch(`${setup.server.url}${callback.pathname}${callback.search}`, { redirect: 'manual' });
}

describe('a flow started with manager.authorize, finished by the connect handler', () => {
  it('stores the connection and tells the user it is connected (200), not that the link is invalid', async () => {
    const setup = await setUp();
    try {
      const response = await callbackThroughHandler(setup, 'dora');
      const text = await response.text();
      expect(response.status).toBe(200);
      expect(text).toContain('connected');
      expect(text).not.toContain('invalid');
      expect((await setup.manager.get('dora')).connection_id).toBe('dora');
    } finally {
      await setup.server.close();
      await setup.manager.close();
    }
  });

  it('redirects to defaultRedirectUrl with the connection when one is set', async () => {
    const setup = await setUp('http://127.0.0.1:1/app/connected');
    try {
      const response = await callbackThroughHandler(setup, 'erin');
      expect(response.status).toBe(302);
      const back = new URL(response.headers.get('location') as string);
      expect(`${back.origin}${back.pathname}`).toBe('http://127.0.0.1:1/app/connected');
      expect(Object.fromEntries(back.searchParams)).toEqual({ connection_id: 'erin', provider_config_key: 'idp' });
    } finally {
      await setup.server.close();
      await setup.manager.close();
    }
  });
});

import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalAuthorizationServer,
  localIdpIntegration,
  startAuthorizationServer,
} from '../support/authorization-server.js';
import { createConnectHandler, toNodeListener } from '../../src/http.js';
import { ConnectionManager } from '../../src/index.js';
import { testManagerOptions } from '../support/manager.js';
import { actAsUser } from '../support/user-agent.js';

let app: Server;
let appUrl: string;
let authServer: LocalAuthorizationServer;
let manager: ConnectionManager;

beforeAll(async () => {
  app = createServer();
  app.listen(0, '127.0.0.1');
  await once(app, 'listening');
  appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  authServer = await startAuthorizationServer({ redirectUris: [`${appUrl}/oauth/callback`] });
  // One manager behind the app's handler for the whole file, so built here and closed in afterAll.
  manager = new ConnectionManager(
    testManagerOptions({
      integrations: {
        idp: localIdpIntegration(authServer, { connect: true, consent: true }),
      },
    }),
  );
  const handler = createConnectHandler({
    manager,
    callbackUrl: `${appUrl}/oauth/callback`,
    allowedRedirectUrls: [`${appUrl}/done`],
    // The app's session decides the end user: here, a header stands in for a session cookie.
    authorizeConnection: (request, asked) => {
      const user = request.headers.get('x-session-user');
      return user && (asked.connectionId === null || asked.connectionId === user) ? user : null;
    },
  });
  app.on('request', toNodeListener(handler));
});
afterAll(async () => {
  await manager.close();
  await authServer.close();
  app.closeAllConnections();
  await new Promise((resolve) => app.close(resolve));
});

/**
 * One browser: it keeps the cookies the handler sets (the flow's binding nonce) and its session
 * (the `x-session-user` header standing in for a session cookie) across requests.
 */
const browser = { cookies: new Map<string, string>(), session: {} as Record<string, string> };
async function get(url: string, headers: Record<string, string> = {}) {
  if (headers['x-session-user']) browser.session = { 'x-session-user': headers['x-session-user'] };
  const cookie = [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  const response = await fetch(url, {
    redirect: 'manual',
    headers: { ...browser.session, ...(cookie ? { cookie } : {}), ...headers },
  });
  for (const line of response.headers.getSetCookie()) {
    const [name = '', ...value] = (line.split(';')[0] ?? '').split('=');
    if (value.join('=')) browser.cookies.set(name, value.join('='));
    else browser.cookies.delete(name);
  }
  return response;
}

describe('the connect HTTP handler', () => {
  it('runs the whole dance over HTTP and redirects with connection_id and provider_config_key', async () => {
    const start = await get(
      `${appUrl}/oauth/connect/idp?connection_id=alice&scopes=openid,offline_access&api_redirect_url=${encodeURIComponent(`${appUrl}/done?tab=integrations`)}`,
      { 'x-session-user': 'alice' },
    );
    expect(start.status).toBe(302);
    const providerUrl = start.headers.get('location') as string;
    expect(providerUrl.startsWith(`${authServer.issuer}/auth?`)).toBe(true);
    const callback = await actAsUser(providerUrl, { login: 'alice' });
    const finish = await get(callback.href);
    expect(finish.status).toBe(302);
    const back = new URL(finish.headers.get('location') as string);
    expect(`${back.origin}${back.pathname}`).toBe(`${appUrl}/done`);
    expect(Object.fromEntries(back.searchParams)).toEqual({
      tab: 'integrations',
      connection_id: 'alice',
      provider_config_key: 'idp',
    });
    const connection = await manager.get('alice', { refreshToken: true });
    expect(connection.credentials).toMatchObject({ type: 'OAUTH2', refresh_token: expect.any(String) });
  });

  it('reports a denial to the app with Nango’s error parameters and stores nothing', async () => {
    const start = await get(
      `${appUrl}/oauth/connect/idp?connection_id=bob&scopes=openid&api_redirect_url=${encodeURIComponent(`${appUrl}/done`)}`,
      { 'x-session-user': 'bob' },
    );
    const callback = await actAsUser(start.headers.get('location') as string, { deny: true });
    const finish = await get(callback.href);
    const back = new URL(finish.headers.get('location') as string);
    expect(back.searchParams.get('message_type')).toBe('error');
    expect(back.searchParams.get('error_type')).toBe('access_denied');
    expect(back.searchParams.get('error_desc')).toEqual(expect.any(String));
    expect((await manager.list({ connectionId: 'bob' })).connections).toEqual([]);
  });

  it('answers a popup with a page that posts the result to window.opener', async () => {
    const start = await get(`${appUrl}/oauth/connect/idp?connection_id=carol&scopes=openid`, {
      'x-session-user': 'carol',
    });
    const callback = await actAsUser(start.headers.get('location') as string, { login: 'carol' });
    const finish = await get(callback.href);
    expect(finish.status).toBe(200);
    const html = await finish.text();
    expect(html, html).toContain('window.opener.postMessage');
    expect(html, html).toContain('{"message_type":"success","provider_config_key":"idp","connection_id":"carol"}');
    expect(html).toContain(JSON.stringify(appUrl));
  });

  it('refuses a redirect URL that is not on the allow-list, a user connecting someone else’s id, and a forged callback', async () => {
    const open = await get(
      `${appUrl}/oauth/connect/idp?connection_id=alice&api_redirect_url=${encodeURIComponent('https://evil.example/')}`,
      { 'x-session-user': 'alice' },
    );
    expect(open.status).toBe(400);
    const impostor = await get(
      `${appUrl}/oauth/connect/idp?connection_id=alice&api_redirect_url=${encodeURIComponent(`${appUrl}/done`)}`,
      { 'x-session-user': 'mallory' },
    );
    expect(impostor.status).toBe(403);
    // As the README says: a plain 400 page that redirects nowhere (unless defaultRedirectUrl is set).
    const forged = await get(`${appUrl}/oauth/callback?code=abc&state=${'y'.repeat(43)}`);
    expect(forged.status).toBe(400);
    expect(forged.headers.get('location')).toBeNull();
  });

  it('reports a code the provider refuses to the app, and stores nothing', async () => {
    const start = await get(
      `${appUrl}/oauth/connect/idp?connection_id=erin&scopes=openid&api_redirect_url=${encodeURIComponent(`${appUrl}/done`)}`,
      { 'x-session-user': 'erin' },
    );
    const callback = await actAsUser(start.headers.get('location') as string, { login: 'erin' });
    callback.searchParams.set('code', 'not-the-code');
    const finish = await get(callback.href);
    const back = new URL(finish.headers.get('location') as string);
    expect(Object.fromEntries(back.searchParams)).toMatchObject({
      message_type: 'error',
      error_type: 'token_exchange_failed',
    });
    expect((await manager.list({ connectionId: 'erin' })).connections).toEqual([]);
  });

  it('sends an unknown integration back to the app as an error', async () => {
    const start = await get(`${appUrl}/oauth/connect/nope?api_redirect_url=${encodeURIComponent(`${appUrl}/done`)}`, {
      'x-session-user': 'dave',
    });
    const back = new URL(start.headers.get('location') as string);
    expect(Object.fromEntries(back.searchParams)).toMatchObject({
      message_type: 'error',
      error_type: 'unknown_integration',
    });
  });
});

/**
 * Issue 11, item 2: a connect flow belongs to the browser that started it. Mallory starts a flow
 * for her own connection and sends the provider URL to Alice; Alice, signed in at the provider,
 * approves — her account must not land on Mallory's connection. Against a real OpenID provider
 * (oidc-provider) that signs users in and redirects to the callback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalAuthorizationServer,
  localIdpIntegration,
  startAuthorizationServer,
} from '../support/authorization-server.js';
import { ConnectionManager } from '../../src/index.js';
import { createConnectHandler } from '../../src/http.js';
import { captureLogs } from '../support/logs.js';
import { actAsUser } from '../support/user-agent.js';

const APP = 'http://127.0.0.1:1';
const CALLBACK = `${APP}/oauth/callback`;
let server: LocalAuthorizationServer;
let manager: ConnectionManager;
let handler: (request: Request) => Promise<Response>;

beforeAll(async () => {
  server = await startAuthorizationServer({ redirectUris: [CALLBACK] });
  manager = new ConnectionManager({
    integrations: {
      idp: localIdpIntegration(server, { connect: true }),
    },
    http: { allowInsecureLoopback: true },
    logger: captureLogs().logger,
  });
  handler = createConnectHandler({
    manager,
    callbackUrl: CALLBACK,
    allowedRedirectUrls: [`${APP}/done`],
    logger: captureLogs().logger,
    // The app's session (a header standing in for its cookie) decides who may connect what.
    authorizeConnection: (request, asked) => {
      const user = request.headers.get('x-session-user');
      return user && (asked.connectionId === null || asked.connectionId === user) ? user : null;
    },
  });
});
afterAll(async () => {
  await manager.close();
  await server.close();
});

/** A browser: its own cookies and its own session at the app. */
function browser(user: string) {
  const cookies = new Map<string, string>();
  return {
    cookies,
    async get(url: string, session = user): Promise<Response> {
      const cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
      const response = await handler(
        new Request(url, { headers: { 'x-session-user': session, ...(cookie ? { cookie } : {}) } }),
      );
      for (const line of response.headers.getSetCookie()) {
        const [name = '', ...value] = (line.split(';')[0] ?? '').split('=');
        if (value.join('=')) cookies.set(name, value.join('='));
        else cookies.delete(name);
      }
      return response;
    },
  };
}

const start = (who: ReturnType<typeof browser>, connectionId: string) =>
  who.get(
    `${APP}/oauth/connect/idp?connection_id=${connectionId}&scopes=openid&api_redirect_url=${encodeURIComponent(`${APP}/done`)}`,
  );

describe('a connect flow belongs to the browser that started it', () => {
  it('sets an HttpOnly, Secure, SameSite=Lax cookie scoped to the callback', async () => {
    const response = await start(browser('carol'), 'carol');
    expect(response.status).toBe(302);
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^latchkey_connect_[0-9a-f]{16}=[\w-]{43};/);
    for (const attribute of ['HttpOnly', 'Secure', 'SameSite=Lax', 'Path=/oauth/callback', 'Max-Age=600'])
      expect(cookie).toContain(attribute);
  });

  it('Mallory’s forwarded provider URL, approved by Alice, does not land Alice’s account on Mallory’s connection', async () => {
    const mallory = browser('mallory');
    const alice = browser('alice');
    const providerUrl = (await start(mallory, 'mallory')).headers.get('location') as string;
    // Alice opens the link, signs in at the provider and approves; her browser follows the callback.
    const callback = await actAsUser(providerUrl, { login: 'alice' });
    expect(callback.searchParams.get('code')).toEqual(expect.any(String));
    const finish = await alice.get(callback.href);
    // Before: a success redirect, and connection "mallory" held Alice's tokens.
    const back = new URL(finish.headers.get('location') as string);
    expect(back.searchParams.get('message_type')).toBe('error');
    expect(back.searchParams.get('error_type')).toBe('browser_mismatch');
    await expect(manager.get('mallory')).rejects.toMatchObject({ code: 'unknown_connection' });
    // The flow is used up: Mallory cannot complete it afterwards either.
    const replay = await mallory.get(callback.href);
    expect(replay.status).toBe(400);
    expect(replay.headers.get('location')).toBeNull();
    await expect(manager.get('mallory')).rejects.toMatchObject({ code: 'unknown_connection' });
  });

  it('the starting browser completes its own flow', async () => {
    const dave = browser('dave');
    const callback = await actAsUser((await start(dave, 'dave')).headers.get('location') as string, { login: 'dave' });
    const finish = await dave.get(callback.href);
    const back = new URL(finish.headers.get('location') as string);
    expect(back.searchParams.get('connection_id')).toBe('dave');
    expect((await manager.get('dave')).connection_id).toBe('dave');
    // The binding cookie is cleared with the callback.
    expect(dave.cookies.size).toBe(0);
  });

  it('re-runs authorizeConnection on the callback: another signed-in user cannot complete the flow', async () => {
    const erin = browser('erin');
    const callback = await actAsUser((await start(erin, 'erin')).headers.get('location') as string, { login: 'erin' });
    // Same browser (the cookie is there), but the app's session is now frank's.
    const finish = await erin.get(callback.href, 'frank');
    const back = new URL(finish.headers.get('location') as string);
    expect(back.searchParams.get('error_type')).toBe('not_authorized');
    await expect(manager.get('erin')).rejects.toMatchObject({ code: 'unknown_connection' });
  });

  it('manager.authorize with a browserBinding requires it on handleCallback', async () => {
    const binding = 'a-nonce-from-the-apps-own-cookie';
    const { url } = await manager.authorize({
      providerConfigKey: 'idp',
      connectionId: 'grace',
      redirectUri: CALLBACK,
      scopes: ['openid'],
      browserBinding: binding,
    });
    const callback = await actAsUser(url, { login: 'grace' });
    // Before: browserBinding was ignored and the callback stored the connection.
    await expect(manager.handleCallback(callback.searchParams)).rejects.toMatchObject({
      code: 'authorization_failed',
      errorType: 'browser_mismatch',
    });
    const again = await manager.authorize({
      providerConfigKey: 'idp',
      connectionId: 'grace',
      redirectUri: CALLBACK,
      scopes: ['openid'],
      browserBinding: binding,
    });
    const ok = await actAsUser(again.url, { login: 'grace' });
    const { connection } = await manager.handleCallback(ok.searchParams, { browserBinding: binding });
    expect(connection.connection_id).toBe('grace');
  });
});

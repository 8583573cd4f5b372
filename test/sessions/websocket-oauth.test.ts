/**
 * Session-token OAuth as `@nangohq/frontend` drives it, over real HTTP and a real WebSocket
 * against oidc-provider: the socket's ack, the popup's `/oauth/connect` with the session token and
 * the socket's id, the callback, then `success` on the same socket — also when the callback lands
 * on a second instance sharing the SQLite file. Each refusal stores nothing and ends in `error`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import {
  type LocalAuthorizationServer,
  startAuthorizationServer,
} from '../../examples/support/authorization-server.js';
import { ConnectionManager } from '../../src/index.js';
import { testManagerOptions } from '../support/manager.js';
import { actAsUser } from '../support/user-agent.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';
import { type AppServer, cookiesOf, createSession, openSdkSocket, startAppServer } from './support.js';

const CALLBACK = 'http://127.0.0.1:1/oauth/callback';
let authServer: LocalAuthorizationServer;
const dirs: string[] = [];
const closers: Array<() => Promise<void>> = [];
beforeAll(async () => {
  authServer = await startAuthorizationServer({ redirectUris: [CALLBACK] });
});
afterAll(async () => {
  await authServer.close();
  dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function managerOn(path: string): ConnectionManager {
  const manager = new ConnectionManager(
    testManagerOptions({
      store: sqliteStore(path),
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
            defaultScopes: ['openid'],
          },
        },
        other: { provider: 'other-api', definition: { authMode: 'API_KEY' } },
      },
    }),
  );
  closers.push(() => manager.close());
  return manager;
}

/** Two instances on one SQLite file: `a` holds the socket, `b` may take the callback. */
async function twoInstances() {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-ws-'));
  dirs.push(dir);
  const path = join(dir, 'store.sqlite');
  const a = managerOn(path);
  const b = managerOn(path);
  const serverA = await startAppServer(a, CALLBACK);
  closers.push(serverA.close);
  const serverB = await startAppServer(b, CALLBACK);
  closers.push(serverB.close);
  return { a, b, serverA, serverB };
}

/** The popup: `/oauth/connect` on `start`, the user at the provider, the callback on `finish`. */
async function popup(start: AppServer, finish: AppServer, query: string, login = 'ada') {
  const connect = await fetch(`${start.url}/oauth/connect/idp?${query}`, { redirect: 'manual' });
  if (connect.status !== 302) return { connect, callback: undefined };
  const callbackUrl = await actAsUser(connect.headers.get('location')!, { login });
  const callback = await fetch(`${finish.url}${callbackUrl.pathname}${callbackUrl.search}`, {
    redirect: 'manual',
    headers: { cookie: cookiesOf(connect) },
  });
  return { connect, callback, callbackUrl };
}

async function connectionCount(manager: ConnectionManager): Promise<number> {
  return (await manager.list({})).connections.length;
}

describe('session-token OAuth with the WebSocket', () => {
  it('ack, then success on the same socket; the server picked the id and stored the end user and tags', async () => {
    const { a, serverA } = await twoInstances();
    const token = await createSession(serverA.url, {
      end_user: { id: 'user-7', email: 'ada@example.com' },
      tags: { plan: 'pro' },
    });
    const socket = await openSdkSocket(serverA.url);
    expect(socket.clientId).toMatch(/^[0-9a-f-]{36}$/);
    const { callback } = await popup(
      serverA,
      serverA,
      `connect_session_token=${token}&ws_client_id=${socket.clientId}`,
    );
    const page = await callback!.text();
    expect(callback!.status).toBe(200);
    expect(page).toContain('Your account is connected.');
    expect(page).toContain('nango_oauth_callback_success');
    expect(page).toContain("BroadcastChannel('nango-oauth-callback')");
    const outcome = await socket.outcome();
    expect(outcome).toMatchObject({ message_type: 'success', provider_config_key: 'idp', is_pending: false });
    expect(outcome.connection_id).toMatch(/^[0-9a-f-]{36}$/);
    const stored = await a.get(outcome.connection_id as string, { providerConfigKey: 'idp' });
    expect(stored.end_user).toMatchObject({ id: 'user-7', email: 'ada@example.com' });
    expect(stored.tags).toMatchObject({ end_user_id: 'user-7', plan: 'pro' });
    expect(await socket.closed).toBe(1000);
  });

  it('a callback that lands on a second instance reaches the socket held by the first', async () => {
    const { a, serverA, serverB } = await twoInstances();
    const token = await createSession(serverA.url, { end_user: { id: 'user-8' } });
    const socket = await openSdkSocket(serverA.url);
    const { callback } = await popup(
      serverA,
      serverB,
      `connect_session_token=${token}&ws_client_id=${socket.clientId}`,
    );
    expect(callback!.status).toBe(200);
    const outcome = await socket.outcome();
    expect(outcome).toMatchObject({ message_type: 'success', provider_config_key: 'idp' });
    expect((await a.get(outcome.connection_id as string, { providerConfigKey: 'idp' })).end_user?.id).toBe('user-8');
  });

  it('a reconnect session replaces the credentials of its pinned connection and fires override', async () => {
    const { a, serverA } = await twoInstances();
    const receiver = await startWebhookReceiver();
    closers.push(receiver.close);
    a.startWebhooks({ url: receiver.url, secret: 'webhook-secret-for-sessions' });
    const first = await openSdkSocket(serverA.url);
    const token = await createSession(serverA.url, { end_user: { id: 'user-9' } });
    await popup(serverA, serverA, `connect_session_token=${token}&ws_client_id=${first.clientId}`);
    const created = await first.outcome();
    const connectionId = created.connection_id as string;
    const reconnect = await createSession(serverA.url, { connection_id: connectionId, integration_id: 'idp' }, true);
    const second = await openSdkSocket(serverA.url);
    await popup(serverA, serverA, `connect_session_token=${reconnect}&ws_client_id=${second.clientId}`, 'ada2');
    expect(await second.outcome()).toMatchObject({ message_type: 'success', connection_id: connectionId });
    expect(await connectionCount(a)).toBe(1);
    const deadline = Date.now() + 10_000;
    while (receiver.received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const bodies = receiver.received.map((webhook) => JSON.parse(webhook.raw) as Record<string, unknown>);
    expect(bodies).toEqual([
      expect.objectContaining({
        type: 'auth',
        operation: 'creation',
        success: true,
        connectionId,
        providerConfigKey: 'idp',
      }),
      expect.objectContaining({
        type: 'auth',
        operation: 'override',
        success: true,
        connectionId,
        providerConfigKey: 'idp',
      }),
    ]);
    expect(bodies[0]!.endUser).toMatchObject({ endUserId: 'user-9' });
  });
});

describe('refusals end in an error on the socket, with nothing stored', () => {
  it.each<[string, (token: string) => Promise<string> | string, Record<string, unknown>]>([
    // Another token of the same shape: the last character changed (to '1' when it already was '0').
    [
      'an expired or deleted session',
      async (token) => `connect_session_token=${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}`,
      {},
    ],
    [
      'an integration the session does not allow',
      (token) => `connect_session_token=${token}`,
      { allowed_integrations: ['other'] },
    ],
    ['a connection id chosen by the browser', (token) => `connect_session_token=${token}&connection_id=mine`, {}],
    [
      'client credentials from the browser',
      (token) => `connect_session_token=${token}&credentials[oauth_client_id_override]=x`,
      {},
    ],
  ])('%s', async (_what, queryOf, body) => {
    const { a, serverA } = await twoInstances();
    const token = await createSession(serverA.url, { end_user: { id: 'user-1' }, ...body });
    const socket = await openSdkSocket(serverA.url);
    const query = `${await queryOf(token)}&ws_client_id=${socket.clientId}`;
    const { connect } = await popup(serverA, serverA, query);
    expect(connect.status).toBe(400);
    expect(await connect.text()).toContain('The connection failed.');
    const outcome = await socket.outcome();
    expect(outcome).toMatchObject({ message_type: 'error' });
    expect(typeof outcome.error_type).toBe('string');
    expect(await connectionCount(a)).toBe(0);
  });

  it("a session's webhook_url_override is the connection's own webhook URL, its creation webhook included", async () => {
    const { a, serverA } = await twoInstances();
    const general = await startWebhookReceiver();
    closers.push(general.close);
    const own = await startWebhookReceiver('/tenant-hooks');
    closers.push(own.close);
    a.startWebhooks({ url: general.url, secret: 'webhook-secret-for-sessions' });
    const socket = await openSdkSocket(serverA.url);
    const token = await createSession(serverA.url, { end_user: { id: 'user-w' }, webhook_url_override: own.url });
    await popup(serverA, serverA, `connect_session_token=${token}&ws_client_id=${socket.clientId}`);
    const outcome = await socket.outcome();
    expect(outcome.message_type).toBe('success');
    const stored = await a.get(String(outcome.connection_id), { providerConfigKey: 'idp' });
    expect(stored.end_user?.id).toBe('user-w');
    const deadline = Date.now() + 10_000;
    while (own.received.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(own.received.map((webhook) => JSON.parse(webhook.raw) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ operation: 'creation', connectionId: outcome.connection_id }),
    ]);
    expect(general.received).toEqual([]);
  });

  it('a session deleted during the flow: the callback stores nothing and the socket gets an error', async () => {
    const { a, serverA } = await twoInstances();
    const token = await createSession(serverA.url, { end_user: { id: 'user-2' } });
    const socket = await openSdkSocket(serverA.url);
    const connect = await fetch(
      `${serverA.url}/oauth/connect/idp?connect_session_token=${token}&ws_client_id=${socket.clientId}`,
      { redirect: 'manual' },
    );
    await a.connectSessions.delete(token);
    const callbackUrl = await actAsUser(connect.headers.get('location')!, { login: 'ada' });
    const callback = await fetch(`${serverA.url}${callbackUrl.pathname}${callbackUrl.search}`, {
      redirect: 'manual',
      headers: { cookie: cookiesOf(connect) },
    });
    expect(callback.status).toBe(400);
    expect(await socket.outcome()).toMatchObject({ message_type: 'error', error_type: 'not_authorized' });
    expect(await connectionCount(a)).toBe(0);
  });

  it('a ws_client_id another session claimed is refused, and that socket is not told', async () => {
    const { a, serverA } = await twoInstances();
    const mine = await createSession(serverA.url, { end_user: { id: 'victim' } });
    const theirs = await createSession(serverA.url, { end_user: { id: 'attacker' } });
    const socket = await openSdkSocket(serverA.url);
    const claimed = await fetch(
      `${serverA.url}/oauth/connect/idp?connect_session_token=${mine}&ws_client_id=${socket.clientId}`,
      { redirect: 'manual' },
    );
    expect(claimed.status).toBe(302);
    const foreign = await fetch(
      `${serverA.url}/oauth/connect/idp?connect_session_token=${theirs}&ws_client_id=${socket.clientId}`,
      { redirect: 'manual' },
    );
    expect(foreign.status).toBe(400);
    expect(await foreign.text()).toContain('invalid_ws_client_id');
    // An unknown socket id is refused the same way.
    const unknown = await fetch(
      `${serverA.url}/oauth/connect/idp?connect_session_token=${theirs}&ws_client_id=00000000-0000-4000-8000-000000000000`,
      { redirect: 'manual' },
    );
    expect(unknown.status).toBe(400);
    // The victim's flow still completes on its socket.
    const callbackUrl = await actAsUser(claimed.headers.get('location')!, { login: 'ada' });
    await fetch(`${serverA.url}${callbackUrl.pathname}${callbackUrl.search}`, {
      redirect: 'manual',
      headers: { cookie: cookiesOf(claimed) },
    });
    expect(await socket.outcome()).toMatchObject({ message_type: 'success' });
    expect(await connectionCount(a)).toBe(1);
  });

  it('a replayed callback stores nothing more and its error reaches the socket of the flow this browser started', async () => {
    const { a, serverA } = await twoInstances();
    const token = await createSession(serverA.url, { end_user: { id: 'user-3' } });
    const first = await openSdkSocket(serverA.url);
    const { callbackUrl } = await popup(
      serverA,
      serverA,
      `connect_session_token=${token}&ws_client_id=${first.clientId}`,
    );
    expect(await first.outcome()).toMatchObject({ message_type: 'success' });
    const second = await openSdkSocket(serverA.url);
    const connect = await fetch(
      `${serverA.url}/oauth/connect/idp?connect_session_token=${token}&ws_client_id=${second.clientId}`,
      { redirect: 'manual' },
    );
    // The popup of the second flow is sent to the first flow's callback URL again.
    const replay = await fetch(`${serverA.url}${callbackUrl!.pathname}${callbackUrl!.search}`, {
      redirect: 'manual',
      headers: { cookie: cookiesOf(connect) },
    });
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain('The connection failed.');
    expect(await second.outcome()).toMatchObject({ message_type: 'error', error_type: 'invalid_state' });
    expect(await connectionCount(a)).toBe(1);
  });

  it('a socket from an origin not allowed is refused; the server own host is allowed', async () => {
    const { serverA } = await twoInstances();
    await expect(openSdkSocket(serverA.url, 'https://evil.example')).rejects.toThrow('refused');
    const own = await openSdkSocket(serverA.url, serverA.url);
    expect(own.clientId).toBeTruthy();
    own.close();
  });
});

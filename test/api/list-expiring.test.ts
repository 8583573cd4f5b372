/**
 * `GET /connections?expiring=true` (Latchkey's own filter; Nango has none): the connections whose
 * refresh token lapses within the manager's `expiringWithinMs`, as `manager.list({ expiring })`
 * finds them, newest first like the rest of the list; combined with the other filters; a bad value,
 * or a combination the expiring list cannot serve, is refused naming the parameter.
 */
import { afterEach, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { createApiHandler } from '../../src/http.js';
import { serveOnLoopback } from '../support/api-server.js';
import { testManager } from '../support/manager.js';

const KEY = 'list-expiring-key-0123456789';
const DAY_SECONDS = 24 * 60 * 60;
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function serve() {
  const definition = { authMode: 'OAUTH2' as const, tokenUrl: 'https://example.invalid/token' };
  const manager = testManager({
    store: memoryStore(),
    integrations: { crm: { provider: 'crm', definition }, erp: { provider: 'erp', definition } },
  });
  const server = await serveOnLoopback(createApiHandler({ manager, apiKeys: [{ key: KEY }] }));
  closers.push(server.close);
  const call = async (path: string) => {
    const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${KEY}` } });
    return {
      status: response.status,
      body: (await response.json()) as {
        connections: Array<{ connection_id: string }>;
        error?: { code: string; message: string };
      },
    };
  };
  /** A connection whose refresh token lapses in `days` (as its provider said), or never said. */
  const connect = (connectionId: string, providerConfigKey: string, days?: number) =>
    manager.create({
      connectionId,
      providerConfigKey,
      credentials: {
        type: 'OAUTH2',
        access_token: `access-${connectionId}`,
        refresh_token: `refresh-${connectionId}`,
        expires_at: '2999-01-01T00:00:00Z',
        raw: days === undefined ? {} : { refresh_token_expires_in: days * DAY_SECONDS },
      },
    });
  return { call, connect };
}

const ids = (answer: { body: { connections: Array<{ connection_id: string }> } }) =>
  answer.body.connections.map((connection) => connection.connection_id);

it('lists only the connections whose refresh token lapses within the threshold, newest first', async () => {
  const { call, connect } = await serve();
  await connect('soon', 'crm', 3);
  await connect('later', 'crm', 30);
  await connect('unstated', 'crm');
  await connect('soon-erp', 'erp', 2);

  const expiring = await call('/connections?expiring=true');
  expect(expiring.status).toBe(200);
  expect(ids(expiring)).toEqual(['soon-erp', 'soon']);
  expect(ids(await call('/connections?expiring=true&integrationId=crm'))).toEqual(['soon']);
  expect(ids(await call('/connections?expiring=1&limit=1'))).toEqual(['soon-erp']);
  expect(ids(await call('/connections?expiring=false'))).toEqual(['soon-erp', 'unstated', 'later', 'soon']);
});

it('refuses a bad value, and search or cursor with it, naming the parameter', async () => {
  const { call } = await serve();
  const bad = await call('/connections?expiring=soon');
  expect(bad.status).toBe(400);
  expect(bad.body.error).toMatchObject({ code: 'invalid_query_params', message: expect.stringContaining('expiring') });
  for (const query of ['expiring=true&search=acme', 'expiring=true&cursor=c1d.5']) {
    const refused = await call(`/connections?${query}`);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({
      code: 'invalid_query_params',
      message: expect.stringContaining('expiring'),
    });
  }
});

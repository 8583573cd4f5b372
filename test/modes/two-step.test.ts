import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock, TwoStepDefinition } from '../../src/index.js';
import { testClock, testManager } from '../support/manager.js';
import { strategySuite } from './strategy-suite.js';
import { answer } from '../support/answer.js';

interface Received {
  path: string;
  contentType: string | undefined;
  client: string | undefined;
  body: unknown;
}

/** A token endpoint with a JSON login and a form refresh, checking what a real one would. */
async function startExchange(now: () => number) {
  const received: Received[] = [];
  let issued = 0;
  const server = createServer(
    answer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      const contentType = req.headers['content-type'];
      const body =
        contentType === 'application/json' ? JSON.parse(text) : Object.fromEntries(new URLSearchParams(text));
      received.push({ path: req.url ?? '', contentType, client: req.headers['x-client'] as string | undefined, body });
      const send = (status: number, json: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      if (req.url === '/auth/token') {
        if (body.apiKey !== 'key-123' || body.grant !== 'api_key') return send(401, { error: 'invalid_api_key' });
        issued++;
        return send(200, { data: { access_token: `ts-${issued}`, refresh_token: `tr-${issued}`, expires_in: 1800 } });
      }
      if (req.url === '/auth/refresh') {
        if (!String(body.refresh_token).startsWith('tr-')) return send(400, { error: 'invalid_grant' });
        issued++;
        return send(200, { data: { access_token: `ts-${issued}`, expires_in: 1800 } });
      }
      if (req.url?.startsWith('/query-token?')) {
        const query = new URL(req.url, 'http://x').searchParams;
        if (req.method !== 'GET' || text !== '' || query.get('apiKey') !== 'key-123')
          return send(401, { error: 'invalid' });
        issued++;
        return send(200, { token: `query-${issued}` });
      }
      if (req.url === '/session') {
        issued++;
        return send(200, { token: `session-${issued}`, expiresAt: new Date(now() + 600_000).toISOString() });
      }
      send(404, {});
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup(definitionFor: (url: string) => TwoStepDefinition, clock: Clock = testClock()) {
  const exchange = await startExchange(clock);
  const manager = testManager({
    integrations: {
      vendor: { provider: 'vendor', definition: { authMode: 'TWO_STEP', twoStep: definitionFor(exchange.url) } },
    },
    clock,
  });
  cleanups.push(() => exchange.close());
  return { exchange, manager };
}

const expireIn = (url: string): TwoStepDefinition => ({
  tokenRequest: {
    url: `${url}/auth/token`,
    body: { apiKey: '${credentials.apiKey}', account: '${connectionConfig.accountId}', grant: 'api_key' },
    headers: { 'X-Client': 'latchkey-${connectionConfig.accountId}' },
  },
  refreshRequest: { url: `${url}/auth/refresh`, bodyFormat: 'form', body: { refresh_token: '${refreshToken}' } },
  tokenPath: 'data.access_token',
  refreshTokenPath: 'data.refresh_token',
  expiry: { strategy: 'expireIn', path: 'data.expires_in' },
});

describe('TWO_STEP', () => {
  it('fills the request template, reads the token and an expireIn lifetime, then refreshes with the refresh request', async () => {
    let now = Date.parse('2026-11-23T12:00:00.000Z');
    const { exchange, manager } = await setup(expireIn, () => now);
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'vendor',
      credentials: { type: 'TWO_STEP', apiKey: 'key-123' },
      connectionConfig: { accountId: 'acct-9' },
    });
    const first = await manager.get('c');
    expect(first.credentials).toMatchObject({
      type: 'TWO_STEP',
      token: 'ts-1',
      expires_at: new Date(now + 1800_000).toISOString(),
    });
    expect(first.credentials).not.toHaveProperty('inputs');
    expect(JSON.stringify(first)).not.toContain('key-123');
    expect(exchange.received[0]).toEqual({
      path: '/auth/token',
      contentType: 'application/json',
      client: 'latchkey-acct-9',
      body: { apiKey: 'key-123', account: 'acct-9', grant: 'api_key' },
    });

    now += 20 * 60_000;
    const second = await manager.get('c', { refreshToken: true });
    expect(exchange.received[1]).toMatchObject({
      path: '/auth/refresh',
      contentType: 'application/x-www-form-urlencoded',
      body: { refresh_token: 'tr-1' },
    });
    expect(second.credentials).toMatchObject({ token: 'ts-2' });
    // The refresh answer had no refresh token: the old one is kept for the next refresh.
    expect((second.credentials as unknown as { raw: { data: { refresh_token: string } } }).raw.data.refresh_token).toBe(
      'tr-1',
    );
  });

  it('reads an expireAt instant', async () => {
    const now = Date.parse('2026-11-23T12:00:00.000Z');
    const { manager } = await setup(
      (url) => ({
        tokenRequest: { url: `${url}/session` },
        tokenPath: 'token',
        expiry: { strategy: 'expireAt', path: 'expiresAt' },
      }),
      () => now,
    );
    await manager.create({ connectionId: 'c', providerConfigKey: 'vendor', credentials: { type: 'TWO_STEP' } });
    expect((await manager.get('c')).credentials).toMatchObject({
      token: 'session-1',
      expires_at: new Date(now + 600_000).toISOString(),
    });
  });

  it('a refused exchange is a typed provider error', async () => {
    const { manager } = await setup(expireIn);
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'vendor',
      credentials: { type: 'TWO_STEP', apiKey: 'wrong' },
      connectionConfig: { accountId: 'a' },
    });
    await expect(manager.get('c')).rejects.toMatchObject({
      code: 'refresh_exhausted',
      providerError: 'invalid_api_key',
    });
  });
});

strategySuite(
  'TWO_STEP',
  async () => {
    const { exchange, manager } = await setup(expireIn);
    return {
      manager,
      input: {
        connectionId: 'suite',
        providerConfigKey: 'vendor',
        credentials: { type: 'TWO_STEP', apiKey: 'key-123' },
        connectionConfig: { accountId: 'a1' },
      },
      async verify(connection) {
        expect(connection.credentials).toMatchObject({ token: 'ts-1' });
        expect(exchange.received).toHaveLength(1);
      },
      close: async () => {},
    };
  },
  [
    ['a non-string input', { type: 'TWO_STEP', apiKey: 12 }, 'credentials.apiKey'],
    ['an object input', { type: 'TWO_STEP', apiKey: { nested: true } }, 'credentials.apiKey'],
  ],
);

it('TWO_STEP with GET sends the parameters in the query, not a body', async () => {
  const { manager } = await setup((url) => ({
    tokenRequest: { method: 'GET', url: `${url}/query-token`, body: { apiKey: '${credentials.apiKey}' } },
    tokenPath: 'token',
  }));
  await manager.create({
    connectionId: 'q',
    providerConfigKey: 'vendor',
    credentials: { type: 'TWO_STEP', apiKey: 'key-123' },
  });
  expect((await manager.get('q')).credentials).toMatchObject({ token: 'query-1' });
});

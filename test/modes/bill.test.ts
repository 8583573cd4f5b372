import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/index.js';
import { testClock, testManager } from '../support/manager.js';
import { strategySuite } from './strategy-suite.js';
import { answer } from '../support/answer.js';

const account = {
  username: 'ap@acme.test',
  password: 'correct horse battery',
  organization_id: '00801ABCDEFGHIJ',
  dev_key: 'dev-key-1',
};

/**
 * A Bill.com v3 stand-in: `POST /v3/login` takes a JSON body and answers `sessionId`; sessions
 * idle out after 35 minutes, and then the API answers as Bill does — 401 with
 * `[{ code: 'BDC_1109', message: 'Session is invalid. Please log in.' }]`.
 */
async function startBill(now: () => number) {
  const sessions = new Map<string, number>();
  const logins: unknown[] = [];
  const server = createServer(
    answer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const send = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.method === 'POST' && req.url === '/v3/login') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        logins.push(body);
        if (req.headers['content-type'] !== 'application/json')
          return send(415, [{ code: 'BDC_1001', message: 'Unsupported content type' }]);
        const valid =
          body.username === account.username &&
          body.password === account.password &&
          body.organizationId === account.organization_id &&
          body.devKey === account.dev_key;
        if (!valid)
          return send(400, [
            {
              timestamp: new Date(now()).toISOString(),
              code: 'BDC_1102',
              message: 'Sign in failed. Check your username or password.',
            },
          ]);
        const sessionId = `!${randomBytes(12).toString('hex')}`;
        sessions.set(sessionId, now());
        return send(200, {
          sessionId,
          userId: '00601USER',
          organizationId: account.organization_id,
          apiEndPoint: 'https://gateway.stage.bill.com/connect',
        });
      }
      if (req.method === 'GET' && req.url === '/v3/vendors') {
        const sessionId = req.headers.sessionid as string | undefined;
        const lastUsed = sessionId ? sessions.get(sessionId) : undefined;
        if (req.headers.devkey !== account.dev_key || lastUsed === undefined || now() - lastUsed > 35 * 60_000) {
          return send(401, [
            {
              timestamp: new Date(now()).toISOString(),
              code: 'BDC_1109',
              message: 'Session is invalid. Please log in.',
            },
          ]);
        }
        sessions.set(sessionId as string, now());
        return send(200, { results: [] });
      }
      send(404, []);
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, logins, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup(clock: Clock = testClock()) {
  const bill = await startBill(clock);
  const manager = testManager({
    integrations: {
      bill: {
        provider: 'bill-sandbox',
        clientId: account.dev_key,
        definition: { authMode: 'BILL', tokenUrl: `${bill.url}/v3/login` },
      },
    },
    clock,
  });
  cleanups.push(() => bill.close());
  return { bill, manager };
}

async function vendors(url: string, sessionId: string) {
  return (await fetch(`${url}/v3/vendors`, { headers: { sessionId, devKey: account.dev_key } })).status;
}

describe('BILL', () => {
  it('logs in with the JSON body Bill expects and renews the session before it idles out', async () => {
    const clock = testClock();
    const { bill, manager } = await setup(clock);
    const { dev_key: _devKey, ...withoutDevKey } = account;
    await manager.create({
      connectionId: 'acme',
      providerConfigKey: 'bill',
      credentials: { type: 'BILL', ...withoutDevKey },
    });
    const first = (await manager.get('acme')).credentials as { session_id: string; user_id: string; dev_key: string };
    expect(bill.logins).toEqual([
      {
        username: account.username,
        password: account.password,
        organizationId: account.organization_id,
        devKey: account.dev_key,
      },
    ]);
    expect(first).toMatchObject({ user_id: '00601USER', dev_key: account.dev_key });
    expect(await vendors(bill.url, first.session_id)).toBe(200);

    clock.advance(19 * 60_000);
    expect(((await manager.get('acme')).credentials as { session_id: string }).session_id).toBe(first.session_id);
    clock.advance(2 * 60_000); // 21 minutes in: within 15 minutes of the 35-minute idle limit
    const renewed = (await manager.get('acme')).credentials as { session_id: string };
    expect(renewed.session_id).not.toBe(first.session_id);
    expect(bill.logins).toHaveLength(2);

    clock.advance(40 * 60_000); // a session left unused past 35 minutes is refused as Bill refuses it
    expect(await vendors(bill.url, renewed.session_id)).toBe(401);
    const again = (await manager.get('acme')).credentials as { session_id: string };
    expect(await vendors(bill.url, again.session_id)).toBe(200);
  });

  it('a refused login is permanent and names Bill’s error code, without the password', async () => {
    const { manager } = await setup();
    await manager.create({
      connectionId: 'bad',
      providerConfigKey: 'bill',
      credentials: { type: 'BILL', ...account, password: 'wrong password' },
    });
    const error = await manager.get('bad').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'refresh_exhausted', providerError: 'BDC_1102' });
    expect(JSON.stringify(error)).not.toContain('wrong password');
  });
});

strategySuite(
  'BILL',
  async () => {
    const { bill, manager } = await setup();
    return {
      manager,
      input: { connectionId: 'suite', providerConfigKey: 'bill', credentials: { type: 'BILL', ...account } },
      async verify(connection) {
        expect(await vendors(bill.url, (connection.credentials as { session_id: string }).session_id)).toBe(200);
      },
      close: async () => {},
    };
  },
  [
    ['a missing organization id', { type: 'BILL', username: 'u', password: 'p' }, 'credentials.organization_id'],
    ['an empty password', { type: 'BILL', username: 'u', password: '', organization_id: 'o' }, 'credentials.password'],
  ],
);

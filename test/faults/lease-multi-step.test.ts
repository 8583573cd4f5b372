import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import type { ConnectionManager, Logger } from '../../src/index.js';
import { answer } from '../support/answer.js';
import { captureLogs } from '../support/logs.js';
import { testManager } from '../support/manager.js';
import { type SqliteHolder, startSqliteHolder } from './support/sqlite-holder.js';

/**
 * Issue 12 item 7: a TWO_STEP exchange with additional steps can outlast the refresh lease. The
 * holder renews its lease while the exchange runs, so a second process waiting for the lock does
 * not take it over and start the exchange again.
 */

const LEASE_MS = 1200;
const STEP_MS = 500; // each of the three requests; together well past the lease
// The manager wants it shorter than the lease; the margin over STEP_MS absorbs a loaded machine.
const REQUEST_TIMEOUT_MS = 1100;
const cleanups: Array<() => Promise<void>> = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let path: string;

beforeEach(() => {
  path = join(tmpdir(), `latchkey-lease-${randomBytes(6).toString('hex')}.db`);
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  process.off('unhandledRejection', onUnhandled);
  for (const cleanup of cleanups.splice(0)) await cleanup();
  for (const suffix of ['', '-wal', '-shm']) await rm(`${path}${suffix}`, { force: true });
});

/**
 * A three-request login as DocuWare's: credentials → a session key → a code → the token, each
 * answer taking STEP_MS. Each step checks the previous step's value, as the real one would.
 */
async function startSlowExchange(hooks: { before?: (path: string) => Promise<void>; stepMs?: number } = {}) {
  const requests: string[] = [];
  let issued = 0;
  const server = createServer(
    answer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, string>;
      requests.push(req.url ?? '');
      await hooks.before?.(req.url ?? '');
      await sleep(hooks.stepMs ?? STEP_MS);
      const send = (status: number, json: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      const n = ++issued;
      if (req.url === '/login')
        return body.user === 'u' && body.password === 'pw' ? send(200, { sessionKey: `s-${n}` }) : send(401, {});
      if (req.url === '/exchange')
        return body.session?.startsWith('s-') ? send(200, { code: `c-${n}` }) : send(400, { error: 'invalid_session' });
      // A step that only takes time (a discovery request), handing the code on.
      if (req.url === '/wait') return send(200, { code: body.code });
      if (req.url === '/token')
        return body.code?.startsWith('c-')
          ? send(200, { access_token: `t-${n}` })
          : send(400, { error: 'invalid_code' });
      send(404, {});
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url, requests };
}

function processOn(
  url: string,
  options: { waits?: number; busyTimeoutMs?: number; logger?: Logger } = {},
): ConnectionManager {
  const waits = Array.from({ length: options.waits ?? 0 }, () => ({
    url: `${url}/wait`,
    body: { code: '${step2.code}' },
  }));
  return testManager({
    store: sqliteStore({ path, ...(options.busyTimeoutMs ? { busyTimeoutMs: options.busyTimeoutMs } : {}) }),
    ...(options.logger ? { logger: options.logger } : {}),
    lock: { leaseMs: LEASE_MS },
    http: { timeoutMs: REQUEST_TIMEOUT_MS },
    integrations: {
      docs: {
        provider: 'docs',
        definition: {
          authMode: 'TWO_STEP',
          twoStep: {
            tokenRequest: {
              url: `${url}/login`,
              body: { user: '${credentials.user}', password: '${credentials.password}' },
            },
            additionalSteps: [
              { url: `${url}/exchange`, body: { session: '${step1.sessionKey}' } },
              ...waits,
              { url: `${url}/token`, body: { code: '${step2.code}' } },
            ],
            tokenPath: 'access_token',
          },
        },
      },
    },
  });
}

it('two processes on one SQLite file: an exchange longer than the lease runs once', async () => {
  const exchange = await startSlowExchange();
  const first = processOn(exchange.url);
  const second = processOn(exchange.url);
  await first.create({
    connectionId: 'c',
    providerConfigKey: 'docs',
    credentials: { type: 'TWO_STEP', user: 'u', password: 'pw' },
  });

  const [a, b] = await Promise.all([first.get('c'), second.get('c')]);

  expect(exchange.requests.filter((request) => request === '/login')).toHaveLength(1);
  expect(exchange.requests).toEqual(['/login', '/exchange', '/token']);
  expect((a.credentials as { token: string }).token).toBe('t-3');
  expect((b.credentials as { token: string }).token).toBe('t-3');
  expect(unhandled).toEqual([]);
});

it('a lease that cannot be renewed while the store is held is treated as lost; the result is still stored', async () => {
  // Another process holds the file from the exchange's second request until the refresher has
  // given the lease up: every renewal in between fails with SQLITE_BUSY. The holder is started
  // before the exchange (spawning a process is slow on a loaded machine), and the last request
  // waits for the "lost" line rather than for a fixed time.
  const holder: SqliteHolder = await startSqliteHolder(path);
  cleanups.push(() => holder.stop());
  const logs = captureLogs();
  const lost = () => logs.lines.some((line) => line.includes('lost a refresh lease'));
  const untilLost = (timeout: number) =>
    vi
      .waitFor(
        () => {
          if (!lost()) throw new Error('the lease is not lost yet');
        },
        { timeout, interval: 20 },
      )
      .catch(() => undefined);
  // Each step answers as soon as the lease is lost, or after a step's time at most; the last one
  // lets the store go only once it is: well within the request timeout either way.
  const exchange = await startSlowExchange({
    stepMs: 0,
    before: async (requestPath) => {
      if (requestPath === '/exchange') await holder.hold();
      if (requestPath === '/wait') await untilLost(STEP_MS * 2);
      if (requestPath === '/token') {
        await untilLost(STEP_MS * 2);
        await holder.release();
      }
    },
  });
  const manager = processOn(exchange.url, { waits: 4, busyTimeoutMs: 20, logger: logs.logger });
  await manager.create({
    connectionId: 'c',
    providerConfigKey: 'docs',
    credentials: { type: 'TWO_STEP', user: 'u', password: 'pw' },
  });

  const connection = await manager.get('c');

  expect((connection.credentials as { token: string }).token).toBe('t-7');
  expect(exchange.requests).toEqual(['/login', '/exchange', '/wait', '/wait', '/wait', '/wait', '/token']);
  const lines = logs.lines.join('\n');
  expect(lines).toContain('could not renew a refresh lease; retrying');
  expect(lines).toContain('lost a refresh lease while refreshing');
  // Written by compare-and-swap once the store was free again: a fresh read sees it.
  const again = processOn(exchange.url);
  expect((await again.get('c')).credentials).toMatchObject({ token: 't-7' });
  expect(unhandled).toEqual([]);
});

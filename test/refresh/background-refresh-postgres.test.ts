import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { postgresStore } from '../../adapters/postgres.js';
import { ConnectionManager, type OAuth2Credentials } from '../../src/index.js';
import { testManagerOptions } from '../support/manager.js';
import { type RunningPostgres, startPostgres } from '../support/postgres.js';
import { startRotatingGrantsServer } from '../support/token-server.js';

let postgres: RunningPostgres;
beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(async () => {
  await postgres?.stop();
});

const LIFETIME_SECONDS = 6;
const CONNECTIONS = ['c1', 'c2', 'c3', 'c4', 'c5'];

function processOn(uri: string, server: { url: string; clientId: string; clientSecret: string }) {
  return new ConnectionManager(
    testManagerOptions({
      store: postgresStore(uri),
      // The real clock: the token server dates its tokens by it.
      clock: Date.now,
      // Half the lifetime: a refresh starts with 3 s left.
      refreshMarginSeconds: LIFETIME_SECONDS / 2,
      integrations: {
        crm: {
          provider: 'crm',
          clientId: server.clientId,
          clientSecret: server.clientSecret,
          definition: { authMode: 'OAUTH2', tokenUrl: server.url },
        },
      },
    }),
  );
}

describe('two processes on one Postgres, both running the background refresher (real clock)', () => {
  it('each expiring connection is refreshed once per expiry, ahead of it, with 0 invalid_grant', async () => {
    const server = await startRotatingGrantsServer({ expiresIn: LIFETIME_SECONDS });
    const uri = await postgres.createDatabase();
    const a = processOn(uri, server);
    const b = processOn(uri, server);
    try {
      for (const id of CONNECTIONS) {
        const { refreshToken, expiresAt } = server.grant(id);
        await a.create({
          connectionId: id,
          providerConfigKey: 'crm',
          credentials: {
            type: 'OAUTH2',
            access_token: `${id}-first`,
            refresh_token: refreshToken,
            expires_at: new Date(expiresAt).toISOString(),
          },
        });
      }
      const startedAt = Date.now();
      const options = { intervalMs: 200, lookaheadMs: 200, jitter: 0.5 };
      const refreshers = [a.startBackgroundRefresh(options), b.startBackgroundRefresh(options)];
      const failures: unknown[] = [];
      for (const manager of [a, b]) manager.on('refresh.failed', (event) => failures.push(event));

      // Reads from both processes meanwhile always get a token that has not expired.
      const until = Date.now() + 2.5 * LIFETIME_SECONDS * 1000;
      while (Date.now() < until) {
        for (const [i, id] of CONNECTIONS.entries()) {
          const credentials = (await (i % 2 ? a : b).get(id)).credentials as OAuth2Credentials;
          expect(Date.parse(credentials.expires_at ?? '')).toBeGreaterThan(Date.now());
        }
        await sleep(250);
      }
      await Promise.all(refreshers.map((refresher) => refresher.stop()));
      // Once per expiry, not once per process: a token is renewed at the earliest 3.2 s before its
      // expiry (the margin plus one pass's lookahead), so it lives at least 2.8 s.
      const mostPerConnection = Math.ceil((Date.now() - startedAt) / 2_800) + 1;

      expect(server.invalidGrants).toBe(0);
      expect(failures).toEqual([]);
      // No refresh came after the token it replaced had expired: nobody had to wait for one.
      expect(server.late).toBe(0);
      for (const id of CONNECTIONS) {
        // 15 s of 6-second tokens renewed with 3 s left: at about 3, 6, 9 and 12 s.
        expect(server.refreshes(id)).toBeGreaterThanOrEqual(3);
        expect(server.refreshes(id)).toBeLessThanOrEqual(mostPerConnection);
        // The last rotation was stored: the stored refresh token is the one the server expects next.
        const stored = (await b.get(id, { refreshToken: true })).credentials as OAuth2Credentials;
        expect(stored.refresh_token).toBe(`${id}~refresh-${server.refreshes(id)}`);
      }
      const totals = refreshers.map((refresher) => refresher.stats().totals);
      expect(totals.reduce((sum, t) => sum + t.failed, 0)).toBe(0);
      expect(totals.reduce((sum, t) => sum + t.refreshed, 0)).toBeGreaterThanOrEqual(3 * CONNECTIONS.length);
    } finally {
      await a.close();
      await b.close();
      await server.close();
    }
  });
});

describe('a revoked grant, two processes', () => {
  it('becomes exhausted by one of them, and refresh.exhausted fires once in all', async () => {
    const server = await startRotatingGrantsServer({ expiresIn: LIFETIME_SECONDS });
    const uri = await postgres.createDatabase();
    const a = processOn(uri, server);
    const b = processOn(uri, server);
    try {
      const { refreshToken, expiresAt } = server.grant('revoked');
      await a.create({
        connectionId: 'revoked',
        providerConfigKey: 'crm',
        credentials: {
          type: 'OAUTH2',
          access_token: 'first',
          refresh_token: refreshToken,
          expires_at: new Date(expiresAt).toISOString(),
        },
      });
      server.revoke('revoked');
      const exhausted: unknown[] = [];
      for (const manager of [a, b]) manager.on('refresh.exhausted', (event) => exhausted.push(event));
      // No jitter: both processes reach for the connection in the same instant.
      const options = { intervalMs: 100, lookaheadMs: LIFETIME_SECONDS * 1000, jitter: 0 };
      const refreshers = [a.startBackgroundRefresh(options), b.startBackgroundRefresh(options)];
      await vi.waitFor(() => expect(exhausted).toHaveLength(1), { timeout: 10_000 });
      // Many more passes of both: nothing more is tried.
      const ticks = refreshers[0]!.stats().ticks;
      await vi.waitFor(() => expect(refreshers[0]!.stats().ticks).toBeGreaterThan(ticks + 5), { timeout: 10_000 });
      await Promise.all(refreshers.map((refresher) => refresher.stop()));
      expect(exhausted).toHaveLength(1);
      expect(server.invalidGrants).toBe(1);
      expect((await b.list()).connections[0]?.status).toMatchObject({
        state: 'needs_reconnect',
        refresh: { error: 'invalid_grant', exhausted: true },
      });
    } finally {
      await a.close();
      await b.close();
      await server.close();
    }
  });
});

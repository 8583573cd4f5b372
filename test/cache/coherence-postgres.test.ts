import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresStore } from '../../adapters/postgres.js';
import { ConnectionManager, type OAuth2Credentials } from '../../src/index.js';
import { testManagerOptions } from '../support/manager.js';
import { type RunningPostgres, startPostgres } from '../support/postgres.js';
import { startTokenServer } from '../support/token-server.js';
import { startCacheProcess } from './support/driver.js';

let postgres: RunningPostgres;
beforeAll(async () => {
  postgres = await startPostgres();
}, 120_000);
afterAll(async () => {
  await postgres?.stop();
});

describe('near cache on Postgres, two processes', () => {
  it("B never serves the old token once A's commit is noticed; with its LISTEN connection killed it reads the store, and caches again once back", async () => {
    const server = await startTokenServer();
    const uri = await postgres.createDatabase();
    const integrations = {
      crm: {
        provider: 'crm',
        clientId: server.clientId,
        clientSecret: server.clientSecret,
        definition: { authMode: 'OAUTH2' as const, tokenUrl: server.url },
      },
    };
    const a = new ConnectionManager(
      testManagerOptions({
        store: postgresStore(uri),
        nearCache: true,
        clock: Date.now,
        lastFetchedWriteIntervalMs: 3_600_000,
        integrations,
      }),
    );
    const b = await startCacheProcess({
      kind: 'postgres',
      location: uri,
      tokenUrl: server.url,
      clientId: server.clientId,
      clientSecret: server.clientSecret,
    });
    const direct = new pg.Client({ connectionString: uri });
    direct.on('error', () => {});
    await direct.connect();
    try {
      await a.create({
        connectionId: 'c1',
        providerConfigKey: 'crm',
        credentials: {
          type: 'OAUTH2',
          access_token: 'first',
          refresh_token: 'r0',
          expires_at: new Date(Date.now() + 3600_000).toISOString(),
        },
      });
      const bUp = b.next('up');
      expect(await b.command({ cmd: 'get', id: 'c1' })).toMatchObject({ token: 'first' });
      await bUp;
      await b.command({ cmd: 'warm', id: 'c1' });
      expect(await b.command({ cmd: 'get', id: 'c1' })).toMatchObject({ token: 'first', reads: 0 });

      // A refreshes and commits while B reads in a loop.
      const looping = b.next('looping');
      const loop = b.command({ cmd: 'loop', id: 'c1', old: 'first' });
      await looping;
      const refreshed = await a.get('c1', { providerConfigKey: 'crm', forceRefresh: true });
      expect((refreshed.credentials as OAuth2Credentials).access_token).toBe('access-1');
      expect(await loop).toEqual(expect.objectContaining({ violations: 0, after: 50, last: 'access-1' }));
      expect(await b.command({ cmd: 'get', id: 'c1' })).toMatchObject({ token: 'access-1' });
      expect(await b.command({ cmd: 'get', id: 'c1' })).toMatchObject({ token: 'access-1', reads: 0 });

      // A write that sends no notice (plain SQL, not through the store): B's cache does not know.
      await direct.query(`UPDATE latchkey SET value = replace(value, '"access-1"', '"direct-2"') WHERE key = $1`, [
        'connection:crm:c1',
      ]);
      expect(await b.command({ cmd: 'get', id: 'c1' })).toMatchObject({ token: 'access-1', reads: 0 });

      // B's LISTEN connection killed for real: B reads the store at once, then caches again once back.
      const down = b.next('down');
      const up = b.next('up');
      const killed = await direct.query(
        `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1`,
        [`latchkey-watch-${b.pid}`],
      );
      expect(killed.rows).toEqual([{ killed: true }]);
      await down;
      expect(await b.command({ cmd: 'get', id: 'c1' })).toMatchObject({ token: 'direct-2', reads: 1 });
      await up;
      expect(await b.command({ cmd: 'get', id: 'c1' })).toMatchObject({ token: 'direct-2' });
      expect(await b.command({ cmd: 'get', id: 'c1' })).toMatchObject({ token: 'direct-2', reads: 0 });
      await b.command({ cmd: 'close' });
    } finally {
      await b.stop();
      await direct.end();
      await a.close();
      await server.close();
    }
  }, 120_000);
});

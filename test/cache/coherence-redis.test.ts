import { describe, expect, it } from 'vitest';
import { redisStore } from '../../adapters/redis.js';
import { ConnectionManager, type OAuth2Credentials } from '../../src/index.js';
import { testManagerOptions } from '../support/manager.js';
import { freshPrefix, redisAvailable, redisSuiteNotRun, useRedis, withRawClient } from '../support/redis.js';
import { startTokenServer } from '../support/token-server.js';
import { startCacheProcess } from './support/driver.js';

if (!redisAvailable()) {
  redisSuiteNotRun();
} else {
  const url = useRedis();

  describe('near cache on Redis, two processes', () => {
    it("B never serves the old token once A's commit is noticed; with its subscriber killed it reads the store, and caches again once back", async () => {
      const server = await startTokenServer();
      const prefix = freshPrefix('near-cache');
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
          store: redisStore({ url: url(), prefix }),
          nearCache: true,
          clock: Date.now,
          lastFetchedWriteIntervalMs: 3_600_000,
          integrations,
        }),
      );
      const b = await startCacheProcess({
        kind: 'redis',
        location: url(),
        prefix,
        tokenUrl: server.url,
        clientId: server.clientId,
        clientSecret: server.clientSecret,
      });
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

        // A write that publishes nothing (a plain SET, not the store's script): B's cache does not know.
        const valueKey = `${prefix}v:connection:crm:c1`;
        await withRawClient(url(), async (send) => {
          const stored = String(await send(['GET', valueKey]));
          await send(['SET', valueKey, stored.replace('"access-1"', '"direct-2"'), 'KEEPTTL']);
        });
        expect(await b.command({ cmd: 'get', id: 'c1' })).toMatchObject({ token: 'access-1', reads: 0 });

        // B's subscriber killed for real: B reads the store at once, then caches again once back.
        const down = b.next('down');
        const up = b.next('up');
        const killed = await withRawClient(url(), async (send) => {
          const clients = String(await send(['CLIENT', 'LIST', 'TYPE', 'pubsub']));
          const line = clients.split('\n').find((entry) => entry.includes(` name=latchkey-watch-${b.pid} `));
          const id = /\bid=(\d+)/.exec(line ?? '')?.[1];
          return id === undefined ? 0 : Number(await send(['CLIENT', 'KILL', 'ID', id]));
        });
        expect(killed).toBe(1);
        await down;
        expect(await b.command({ cmd: 'get', id: 'c1' })).toMatchObject({ token: 'direct-2', reads: 1 });
        await up;
        expect(await b.command({ cmd: 'get', id: 'c1' })).toMatchObject({ token: 'direct-2' });
        expect(await b.command({ cmd: 'get', id: 'c1' })).toMatchObject({ token: 'direct-2', reads: 0 });
        await b.command({ cmd: 'close' });
      } finally {
        await b.stop();
        await a.close();
        await server.close();
      }
    }, 120_000);
  });
}

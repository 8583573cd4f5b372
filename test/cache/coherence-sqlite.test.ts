import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import { ConnectionManager, type OAuth2Credentials } from '../../src/index.js';
import { testManagerOptions } from '../support/manager.js';
import { startTokenServer } from '../support/token-server.js';
import { startCacheProcess } from './support/driver.js';

describe('near cache on SQLite, two processes on one file', () => {
  it("B never serves the old token once its poll saw A's commit", async () => {
    const server = await startTokenServer();
    const directory = await mkdtemp(join(tmpdir(), 'latchkey-near-cache-'));
    const path = join(directory, 'store.db');
    const a = new ConnectionManager(
      testManagerOptions({
        store: sqliteStore(path),
        nearCache: true,
        clock: Date.now,
        lastFetchedWriteIntervalMs: 3_600_000,
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
      const b = await startCacheProcess({
        kind: 'sqlite',
        location: path,
        tokenUrl: server.url,
        clientId: server.clientId,
        clientSecret: server.clientSecret,
      });
      try {
        const bUp = b.next('up');
        expect(await b.command({ cmd: 'get', id: 'c1' })).toMatchObject({ token: 'first' });
        await bUp;
        await b.command({ cmd: 'warm', id: 'c1' });
        expect(await b.command({ cmd: 'get', id: 'c1' })).toMatchObject({ token: 'first', reads: 0 });

        const looping = b.next('looping');
        const loop = b.command({ cmd: 'loop', id: 'c1', old: 'first' });
        await looping;
        const refreshed = await a.get('c1', { providerConfigKey: 'crm', forceRefresh: true });
        expect((refreshed.credentials as OAuth2Credentials).access_token).toBe('access-1');
        // SQLite's notices do not name what changed (the refresh lock is a commit too): B counts
        // those after A's commit returned, and one more commit makes sure one comes.
        await b.command({ cmd: 'committed' });
        await a.updateMetadata({ connectionId: 'c1', providerConfigKey: 'crm' }, { after: 'refresh' });
        expect(await loop).toEqual(expect.objectContaining({ violations: 0, after: 50, last: 'access-1' }));
        expect(await b.command({ cmd: 'get', id: 'c1' })).toMatchObject({ token: 'access-1' });
        expect(await b.command({ cmd: 'get', id: 'c1' })).toMatchObject({ token: 'access-1', reads: 0 });
        await b.command({ cmd: 'close' });
      } finally {
        await b.stop();
      }
    } finally {
      await a.close();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    }
  }, 120_000);
});

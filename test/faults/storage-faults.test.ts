import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postgresStore } from '../../adapters/postgres.js';
import { sqliteStore } from '../../adapters/sqlite.js';
import { ConnectionManager, StorageError } from '../../src/index.js';
import type { StorageAdapter } from '../../src/adapter.js';
import { captureLogs } from '../support/logs.js';
import { type RestartablePostgres, restartablePostgres } from './support/restartable-postgres.js';
import { type SqliteHolder, startSqliteHolder } from './support/sqlite-holder.js';
import { type OneGrantServer, startOneGrantServer } from '../support/token-server.js';
import { storageErrorOf } from '../support/storage-errors.js';

const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);
const cleanups: Array<() => Promise<unknown>> = [];
beforeEach(() => {
  process.on('unhandledRejection', onRejection);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  process.off('unhandledRejection', onRejection);
  rejections.length = 0;
});

const integrations = { keys: { provider: 'any', definition: { authMode: 'API_KEY' as const } } };

function managerOn(store: StorageAdapter, logs = captureLogs()) {
  const manager = new ConnectionManager({ store, integrations, logger: logs.logger, requireEncryption: false });
  cleanups.push(() => manager.close());
  return { manager, logs };
}

const createKey = (manager: ConnectionManager, connectionId: string) =>
  manager.create({ connectionId, providerConfigKey: 'keys', credentials: { type: 'API_KEY', apiKey: 'k-1' } });

describe('postgres faults', () => {
  let postgres: RestartablePostgres;
  beforeEach(async () => {
    postgres = await restartablePostgres();
    cleanups.push(() => postgres.destroy());
  });

  it('starts before its database: typed transient errors, no unhandled rejection, works once it is up', async () => {
    const { manager, logs } = managerOn(postgresStore(postgres.uri));
    // Give the background connection attempts made at construction time to fail.
    await sleep(300);
    const refused = await storageErrorOf(createKey(manager, 'early'));
    expect(refused.transient).toBe(true);
    expect((refused.cause as { code?: string }).code ?? (refused.cause as AggregateError).errors?.[0]).toBeTruthy();
    expect(refused.message).not.toContain('latchkey-test');
    const listed = await storageErrorOf(manager.list());
    expect(listed.transient).toBe(true);

    await postgres.start();
    await createKey(manager, 'late');
    expect((await manager.list()).connections.map((c) => c.connection_id)).toEqual(['late']);
    expect((await manager.get('late')).credentials).toEqual({ type: 'API_KEY', apiKey: 'k-1' });
    expect(logs.lines.join('\n')).not.toContain('latchkey-test');
    expect(rejections).toEqual([]);
  });

  it('recovers from a restart mid-run; while it is down, calls fail with a transient StorageError', async () => {
    await postgres.start();
    const { manager } = managerOn(postgresStore(postgres.uri));
    await createKey(manager, 'conn');
    expect((await manager.get('conn')).credentials).toEqual({ type: 'API_KEY', apiKey: 'k-1' });

    await postgres.stop();
    const down = await storageErrorOf(manager.get('conn'));
    expect(down.transient).toBe(true);

    await postgres.start();
    expect((await manager.get('conn')).credentials).toEqual({ type: 'API_KEY', apiKey: 'k-1' });
    expect(rejections).toEqual([]);
  });
});

describe('sqlite faults', () => {
  let path: string;
  let holder: SqliteHolder | undefined;
  beforeEach(() => {
    path = join(tmpdir(), `latchkey-fault-${randomBytes(6).toString('hex')}.db`);
    cleanups.push(async () => {
      await holder?.stop();
      holder = undefined;
      for (const suffix of ['', '-wal', '-shm']) await rm(`${path}${suffix}`, { force: true });
    });
  });

  it('refuses a path in a directory that does not exist at construction, with a StorageError', async () => {
    expect(() => sqliteStore('/nonexistent/dir/x.db')).toThrow(StorageError);
    expect(() => sqliteStore('/nonexistent/dir/x.db')).toThrow(/\/nonexistent\/dir\/x\.db/);
    // Nothing left running in the background to reject later.
    await sleep(100);
    expect(rejections).toEqual([]);
  });

  it('reports a file held by another process past the busy timeout as a transient StorageError', async () => {
    const { manager } = managerOn(sqliteStore({ path, busyTimeoutMs: 20 }));
    await createKey(manager, 'first');
    holder = await startSqliteHolder(path);
    await holder.hold();
    const busy = await storageErrorOf(createKey(manager, 'second'));
    expect(busy.transient).toBe(true);
    expect((busy.cause as { code?: string }).code).toBe('SQLITE_BUSY');
    // Reads still work (WAL), and a write works once the other process lets go.
    expect((await manager.get('first')).credentials).toEqual({ type: 'API_KEY', apiKey: 'k-1' });
    await holder.release();
    await createKey(manager, 'second');
    expect(rejections).toEqual([]);
  });

  it('serves still-valid credentials when a due refresh cannot take its lock because the store is busy', async () => {
    const server: OneGrantServer = await startOneGrantServer();
    cleanups.push(() => server.close());
    const now = Date.parse('2026-11-23T12:00:00.000Z');
    const logs = captureLogs();
    const manager = new ConnectionManager({
      store: sqliteStore({ path, busyTimeoutMs: 20 }),
      integrations: {
        crm: {
          provider: 'crm',
          clientId: server.clientId,
          clientSecret: server.clientSecret,
          definition: { authMode: 'OAUTH2', tokenUrl: server.url },
        },
      },
      http: { allowInsecureLoopback: true },
      clock: () => now,
      logger: logs.logger,
      requireEncryption: false,
    });
    cleanups.push(() => manager.close());
    await manager.create({
      connectionId: 'conn',
      providerConfigKey: 'crm',
      credentials: {
        type: 'OAUTH2',
        access_token: 'access-0',
        refresh_token: 'refresh-0',
        expires_at: new Date(now + 10 * 60_000).toISOString(),
      },
    });
    holder = await startSqliteHolder(path);
    await holder.hold();
    // Due (inside the 15-minute margin) but valid for 10 more minutes: served as is.
    expect((await manager.get('conn')).credentials).toMatchObject({ access_token: 'access-0' });
    expect(server.presented).toEqual([]);
    expect(rejections).toEqual([]);
  });
});

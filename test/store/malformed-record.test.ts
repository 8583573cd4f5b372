import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import { StorageError } from '../../src/index.js';
import { captureLogs } from '../support/logs.js';
import { testClock, testManager } from '../support/manager.js';
import { startRotatingGrantsServer } from '../support/token-server.js';

const HOUR = 60 * 60_000;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Runs one statement on the SQLite file itself, as a hand edit (or an older build) would. */
function runSql(path: string, sql: string, params: unknown[]): Promise<{ key: string }[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(path);
    db.all(sql, params, (error, rows) => {
      db.close();
      if (error) reject(error);
      else resolve(rows as { key: string }[]);
    });
  });
}

describe('one malformed record already in the store (SQLite file)', () => {
  it('is skipped and reported with its key by listing and by a background pass; the others are served', async () => {
    const path = join(tmpdir(), `latchkey-malformed-${randomBytes(6).toString('hex')}.db`);
    cleanups.push(() => rm(path, { force: true }));
    const server = await startRotatingGrantsServer({ expiresIn: 3600 });
    cleanups.push(() => server.close());
    const clock = testClock();
    const logs = captureLogs();
    const manager = testManager({
      store: sqliteStore(path),
      clock,
      logger: logs.logger,
      integrations: {
        crm: {
          provider: 'crm',
          clientId: server.clientId,
          clientSecret: server.clientSecret,
          definition: { authMode: 'OAUTH2', tokenUrl: server.url },
        },
      },
    });
    cleanups.push(() => manager.close());
    for (const connectionId of ['good-1', 'bad', 'good-2']) {
      await manager.create({
        connectionId,
        providerConfigKey: 'crm',
        credentials: {
          type: 'OAUTH2',
          access_token: `${connectionId}-access`,
          refresh_token: server.grant(connectionId).refreshToken,
          expires_at: new Date(clock.now() + HOUR).toISOString(),
        },
        endUser: { id: `user-${connectionId}`, email: `${connectionId}@example.com` },
      });
    }

    // What an older build let through: end_user.email a number.
    const [row] = await runSql(path, `SELECT key, value FROM latchkey WHERE value LIKE '%"connection_id":"bad"%'`, []);
    const badKey = row!.key;
    const record = JSON.parse((row as unknown as { value: string }).value);
    record.end_user.email = 5;
    await runSql(path, 'UPDATE latchkey SET value = ? WHERE key = ?', [JSON.stringify(record), badKey]);

    const listed = await manager.list();
    expect(listed.connections.map((c) => c.connection_id)).toEqual(['good-1', 'good-2']);
    const paged = await manager.list({ limit: 1 });
    const rest = await manager.list({ limit: 1, cursor: paged.nextCursor! });
    expect([...paged.connections, ...rest.connections].map((c) => c.connection_id)).toEqual(['good-1', 'good-2']);
    expect(logs.lines.filter((line) => line.includes(badKey) && line.includes('end_user.email'))).toHaveLength(1);

    const read = await manager.get('bad', { providerConfigKey: 'crm' }).catch((error: unknown) => error);
    expect(read).toBeInstanceOf(StorageError);
    expect(read).toMatchObject({ code: 'storage_error', key: badKey, field: 'end_user.email' });

    // All three are due; the pass refreshes the two good ones and reports the bad one by key.
    const refresher = manager.startBackgroundRefresh({ intervalMs: 60_000 });
    clock.advance(50 * 60_000);
    const stats = await refresher.tick();
    expect(stats).toMatchObject({ due: 3, refreshed: 2, failed: 1 });
    expect(logs.lines.some((line) => line.includes('background refresher') && line.includes(badKey))).toBe(true);
    expect((await manager.get('good-2')).credentials).not.toMatchObject({ access_token: 'good-2-access' });
  });
});

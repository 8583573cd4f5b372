import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { postgresStore } from '../../adapters/postgres.js';
import { sqliteStore } from '../../adapters/sqlite.js';
import { createApiHandler } from '../../src/http.js';
import type { StorageAdapter } from '../../src/adapter.js';
import { serveOnLoopback } from '../support/api-server.js';
import { testManager } from '../support/manager.js';
import { type RunningPostgres, startPostgres } from '../support/postgres.js';

const KEY = 'boundary-schema-key-0123456789';
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

let postgres: RunningPostgres;
beforeAll(async () => {
  postgres = await startPostgres();
}, 120_000);
afterAll(async () => {
  await postgres?.stop();
});

async function serve(store: StorageAdapter) {
  const manager = testManager({
    store,
    integrations: { keys: { provider: 'any', definition: { authMode: 'API_KEY' } } },
  });
  closers.push(() => manager.close());
  const server = await serveOnLoopback(createApiHandler({ manager, apiKeys: [{ key: KEY }] }));
  closers.push(server.close);
  const call = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${server.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...init.headers },
    });
    return { status: response.status, body: await response.json() };
  };
  return { manager, call };
}

const stores: Array<[string, () => Promise<StorageAdapter>]> = [
  ['memory', async () => memoryStore()],
  [
    'SQLite',
    async () => {
      const path = join(tmpdir(), `latchkey-boundary-${randomBytes(6).toString('hex')}.db`);
      closers.push(() => rm(path, { force: true }));
      return sqliteStore(path);
    },
  ],
  ['Postgres', async () => postgresStore(await postgres.createDatabase())],
];

describe.each(stores)('POST /connections checks end_user by schema (%s store)', (_name, makeStore) => {
  it('refuses end_user.email = 5 with 400 naming the field, stores nothing, and listing keeps working', async () => {
    const { manager, call } = await serve(await makeStore());
    const poisoned = await call('/connections', {
      method: 'POST',
      body: JSON.stringify({
        connection_id: 'poison',
        provider_config_key: 'keys',
        credentials: { type: 'API_KEY', apiKey: 'k-1' },
        end_user: { email: 5 },
      }),
    });
    expect(poisoned.status).toBe(400);
    expect(poisoned.body.error).toMatchObject({ code: 'invalid_request', field: 'end_user.email' });
    expect(poisoned.body.error.message).toContain('end_user.email must be a string');
    expect((await manager.list()).connections).toEqual([]);

    const good = await call('/connections', {
      method: 'POST',
      body: JSON.stringify({
        connection_id: 'fine',
        provider_config_key: 'keys',
        credentials: { type: 'API_KEY', apiKey: 'k-1' },
        end_user: { id: 'eu-1', email: 'one@example.com' },
      }),
    });
    expect(good.status).toBe(201);
    const searched = await call('/connections?search=one@example');
    expect(searched.status).toBe(200);
    expect(searched.body.connections.map((c: { connection_id: string }) => c.connection_id)).toEqual(['fine']);
  });
});

describe('GET /connections: queries read by schema', () => {
  it('refuses tag filters it cannot apply (tags[]=x, tags=x) instead of widening the answer', async () => {
    const { manager, call } = await serve(memoryStore());
    await manager.create({
      connectionId: 'a',
      providerConfigKey: 'keys',
      credentials: { type: 'API_KEY', apiKey: 'k' },
      tags: { team: 'a' },
    });
    for (const query of ['tags[]=x', 'tags=x', 'tags[a][b]=x']) {
      const answer = await call(`/connections?${query}`);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('invalid_query_params');
      expect(answer.body.error.message).toContain(decodeURIComponent(query.split('=')[0]!));
    }
    const filtered = await call('/connections?tags[team]=b');
    expect(filtered.body.connections).toEqual([]);
  });

  it('answers one page of 100, newest first, with next_cursor when no limit is given, and the cursor walks the rest', async () => {
    const { manager, call } = await serve(memoryStore());
    for (let index = 0; index < 103; index++) {
      await manager.create({
        connectionId: `c-${String(index).padStart(3, '0')}`,
        providerConfigKey: 'keys',
        credentials: { type: 'API_KEY', apiKey: 'k' },
      });
    }
    const first = await call('/connections');
    expect(first.body.connections).toHaveLength(100);
    expect(first.body.connections[0].connection_id).toBe('c-102');
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const rest = await call(`/connections?cursor=${encodeURIComponent(first.body.next_cursor)}`);
    expect(rest.body.connections.map((c: { connection_id: string }) => c.connection_id)).toEqual([
      'c-002',
      'c-001',
      'c-000',
    ]);
    expect(rest.body.next_cursor).toBeUndefined();
  });

  it('caps how many rows a page number may skip, and says to follow next_cursor', async () => {
    const { call } = await serve(memoryStore());
    const deep = await call('/connections?page=1000&limit=2000');
    expect(deep.status).toBe(400);
    expect(deep.body.error.code).toBe('invalid_query_params');
    expect(deep.body.error.message).toContain('next_cursor');
    expect((await call('/connections?page=11&limit=2000')).status).toBe(400);
    expect((await call('/connections?page=10&limit=2000')).status).toBe(200);
  });

  it('names the query parameter or body field at fault', async () => {
    const { manager, call } = await serve(memoryStore());
    await manager.create({
      connectionId: 'a',
      providerConfigKey: 'keys',
      credentials: { type: 'API_KEY', apiKey: 'k' },
    });
    const badLimit = await call('/connections?limit=0');
    expect(badLimit.body.error.message).toContain('limit must be a whole number from 1 to 2000');
    const patch = await call('/connections/a?provider_config_key=keys', {
      method: 'PATCH',
      body: JSON.stringify({ metadata: {} }),
    });
    expect(patch.status).toBe(400);
    expect(patch.body.error.field).toBe('metadata');
    const bulk = await call('/connections/metadata', {
      method: 'POST',
      body: JSON.stringify({ connection_id: 'a', provider_config_key: 'keys', metadata: [] }),
    });
    expect(bulk.body.error).toMatchObject({ code: 'invalid_request', field: 'metadata' });
    const tags = await call('/connections', {
      method: 'POST',
      body: JSON.stringify({
        provider_config_key: 'keys',
        credentials: { type: 'API_KEY', apiKey: 'k' },
        tags: { a: 1 },
      }),
    });
    expect(tags.body.error).toMatchObject({ code: 'invalid_request', field: 'tags.a' });
    expect((await manager.list()).connections.map((c) => c.connection_id)).toEqual(['a']);
  });
});

describe('manager.create checks endUser by schema (no cast)', () => {
  it('refuses endUser.email = 5 and an endUser without id, naming the field; nothing stored', async () => {
    const manager = testManager({
      store: memoryStore(),
      integrations: { keys: { provider: 'any', definition: { authMode: 'API_KEY' } } },
    });
    closers.push(() => manager.close());
    const base = { providerConfigKey: 'keys', credentials: { type: 'API_KEY', apiKey: 'k' } };
    for (const [endUser, field] of [
      [{ id: 'u-1', email: 5 }, 'endUser.email'],
      [{ email: 'a@example.com' }, 'endUser.id'],
      [{ id: 'u-1', organization: { id: 7 } }, 'endUser.organization.id'],
    ] as const) {
      const refused = await manager
        .create({ ...base, connectionId: 'c', endUser: endUser as never })
        .catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: 'invalid_request', field });
    }
    expect((await manager.list()).connections).toEqual([]);
  });
});

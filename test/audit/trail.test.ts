/**
 * The audit trail on the memory store and on SQLite files: what each operation records, who it
 * names, that no secret is stored in any encoding, that `verify` finds an edited or a deleted
 * entry and names it, retention with its anchor, and two managers on one SQLite file writing one chain.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { sqliteStore } from '../../adapters/sqlite.js';
import type { StorageAdapter } from '../../src/adapter.js';
import { createApiHandler } from '../../src/http.js';
import { type ConnectionManagerOptions, verifyAuditTrail, withActor } from '../../src/index.js';
import { testClock, testManager } from '../support/manager.js';
import { startTokenServer } from '../support/token-server.js';
import { allEntries, auditTexts, leaked } from './support.js';

const API_KEY_SECRET = 'sk-live-audit-secret-0123456789';
const METADATA_SECRET = 'metadata-value-never-recorded-42';
const HTTP_KEY = 'http-api-key-for-audit-tests-0123456789';
const DAY = 24 * 60 * 60 * 1000;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function sqliteFile(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'latchkey-audit-'));
  cleanups.push(() => rm(directory, { recursive: true, force: true }));
  return join(directory, 'audit.db');
}

/** An API that answers 200 to a request carrying the key. */
async function startApi(): Promise<string> {
  const server: Server = createServer((req, res) => {
    res.writeHead(req.headers['x-api-key'] === API_KEY_SECRET ? 200 : 401).end('{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const STORES: Array<[string, () => Promise<StorageAdapter>]> = [
  ['memory', async () => memoryStore()],
  ['sqlite', async () => sqliteStore(await sqliteFile())],
];

describe.each(STORES)('the audit trail on %s', (_name, openStore) => {
  async function setup(options: ConnectionManagerOptions = {}) {
    const store = await keptOpen(openStore);
    const tokens = await startTokenServer();
    cleanups.push(() => tokens.close());
    const api = await startApi();
    const clock = testClock();
    const integrations: ConnectionManagerOptions['integrations'] = {
      keyed: {
        provider: 'keyed-api',
        definition: { authMode: 'API_KEY', proxy: { baseUrl: api, headers: { 'X-Api-Key': '${apiKey}' } } },
      },
      crm: {
        provider: 'crm',
        clientId: tokens.clientId,
        clientSecret: tokens.clientSecret,
        definition: { authMode: 'OAUTH2', tokenUrl: tokens.url },
      },
    };
    const managerWith = (more: ConnectionManagerOptions) => {
      const manager = testManager({ store, clock, audit: { flushIntervalMs: 10 }, integrations, ...more });
      cleanups.push(() => manager.close());
      return manager;
    };
    return { store, manager: managerWith(options), managerWith, clock, tokens };
  }

  it('records nothing when the option is off', async () => {
    const { store, manager } = await setup({ audit: undefined });
    await manager.create({
      connectionId: 'a',
      providerConfigKey: 'keyed',
      credentials: { type: 'API_KEY', apiKey: API_KEY_SECRET },
    });
    await manager.get('a');
    await manager.close();
    expect(await auditTexts(store)).toEqual([]);
  });

  it('records every read and change with who, what and the outcome, and never a secret', async () => {
    const { store, manager, tokens } = await setup();
    await withActor('onboarding', () =>
      manager.create({
        connectionId: 'acct',
        providerConfigKey: 'keyed',
        credentials: { type: 'API_KEY', apiKey: API_KEY_SECRET },
        metadata: { note: METADATA_SECRET },
      }),
    );
    await manager.create({
      connectionId: 'oauth',
      providerConfigKey: 'crm',
      credentials: {
        type: 'OAUTH2',
        access_token: 'access-initial-0123456789',
        refresh_token: 'refresh-initial-0123456789',
        expires_in: 60,
      },
    });
    await withActor('billing-worker', async () => {
      await manager.get('acct');
      expect((await manager.fetch('acct', '/v1/me')).status).toBe(200);
    });
    const refreshed = await manager.get('oauth', { refreshToken: true });
    await expect(manager.signRequest('acct', { method: 'GET', url: 'https://example.com/' })).rejects.toThrow();
    await expect(manager.get('nobody')).rejects.toMatchObject({ code: 'unknown_connection' });
    await manager.updateMetadata({ connectionId: 'acct', providerConfigKey: 'keyed' }, { other: METADATA_SECRET });
    await manager.delete('acct');
    await manager.close();

    const entries = await allEntries(store);
    const summary = entries.map((entry) => [
      entry.actor,
      entry.action,
      entry.providerConfigKey,
      entry.connectionId,
      entry.outcome,
      entry.code,
    ]);
    expect(summary).toEqual([
      ['onboarding', 'create', 'keyed', 'acct', 'ok', undefined],
      ['app', 'create', 'crm', 'oauth', 'ok', undefined],
      ['billing-worker', 'read', 'keyed', 'acct', 'ok', undefined],
      ['billing-worker', 'fetch', 'keyed', 'acct', 'ok', undefined],
      ['app', 'refresh', 'crm', 'oauth', 'ok', undefined],
      ['app', 'read', 'crm', 'oauth', 'ok', undefined],
      ['app', 'sign', 'keyed', 'acct', 'error', 'invalid_request'],
      ['app', 'read', undefined, 'nobody', 'error', 'unknown_connection'],
      ['app', 'update', 'keyed', 'acct', 'ok', undefined],
      ['app', 'delete', 'keyed', 'acct', 'ok', undefined],
    ]);
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index + 1));
    expect(await verifyAuditTrail(store)).toMatchObject({ ok: true, entries: entries.length });
    const secrets = [
      API_KEY_SECRET,
      METADATA_SECRET,
      tokens.clientSecret,
      'access-initial-0123456789',
      'refresh-initial-0123456789',
      refreshed.credentials.type === 'OAUTH2' ? refreshed.credentials.access_token : 'unreachable',
      refreshed.credentials.type === 'OAUTH2' ? String(refreshed.credentials.refresh_token) : 'unreachable',
    ];
    expect(leaked(await auditTexts(store), secrets)).toEqual([]);
  });

  it('names the API key of an HTTP call, and records the key rotation', async () => {
    const { store, manager } = await setup({ encryptionKey: Buffer.alloc(32, 7).toString('base64') });
    await manager.create({
      connectionId: 'acct',
      providerConfigKey: 'keyed',
      credentials: { type: 'API_KEY', apiKey: API_KEY_SECRET },
    });
    const handler = createApiHandler({ manager, apiKeys: [{ key: HTTP_KEY, name: 'support-dashboard' }] });
    const response = await handler(
      new Request('http://127.0.0.1/connection/acct?provider_config_key=keyed', {
        headers: { authorization: `Bearer ${HTTP_KEY}` },
      }),
    );
    expect(response.status).toBe(200);
    await manager.rotateEncryptionKey();
    await manager.close();
    const entries = await allEntries(store);
    expect(entries.map((entry) => [entry.actor, entry.action, entry.connectionId, entry.outcome])).toEqual([
      ['app', 'create', 'acct', 'ok'],
      ['support-dashboard', 'read', 'acct', 'ok'],
      ['app', 'rotate-key', undefined, 'ok'],
    ]);
    expect(leaked(await auditTexts(store), [HTTP_KEY, API_KEY_SECRET])).toEqual([]);
  });

  it('names the first entry that was edited, and the first of a deleted batch', async () => {
    const { store, manager } = await setup({ audit: { batchSize: 5, flushIntervalMs: 60_000 } });
    await manager.create({
      connectionId: 'acct',
      providerConfigKey: 'keyed',
      credentials: { type: 'API_KEY', apiKey: API_KEY_SECRET },
    });
    for (let i = 0; i < 24; i++) await manager.get('acct');
    await manager.close();
    expect(await verifyAuditTrail(store)).toMatchObject({ ok: true, entries: 25 });

    // Entries 11–15 are one batch (five to a batch, written when five wait): edit the actor of entry 13.
    const key = 'audit:batch:0000000000000011';
    const original = (await store.get(key))!;
    const batch = JSON.parse(original) as { entries: Array<{ seq: number; actor: string }> };
    batch.entries.find((entry) => entry.seq === 13)!.actor = 'someone-else';
    const edited = JSON.stringify(batch);
    expect(await store.replace(key, original, edited)).toBe(true);
    expect(await verifyAuditTrail(store)).toMatchObject({
      ok: false,
      broken: { seq: 13, reason: 'its content does not match its hash' },
    });

    expect(await store.replace(key, edited, original)).toBe(true);
    expect(await store.delete(key)).toBe(true);
    expect(await verifyAuditTrail(store)).toMatchObject({ ok: false, broken: { seq: 11 } });
  });

  it('finds entries deleted from the end', async () => {
    const { store, manager } = await setup({ audit: { batchSize: 5, flushIntervalMs: 60_000 } });
    await manager.create({
      connectionId: 'acct',
      providerConfigKey: 'keyed',
      credentials: { type: 'API_KEY', apiKey: API_KEY_SECRET },
    });
    for (let i = 0; i < 9; i++) await manager.get('acct');
    await manager.close();
    expect(await store.delete('audit:batch:0000000000000006')).toBe(true);
    expect(await verifyAuditTrail(store)).toMatchObject({ ok: false, broken: { seq: 6 } });
  });

  it('drops old entries from the start behind an anchor, and verify still passes', async () => {
    const settings = { audit: { batchSize: 5, flushIntervalMs: 60_000, retentionDays: 30 } };
    const { store, manager, managerWith, clock } = await setup(settings);
    await manager.create({
      connectionId: 'acct',
      providerConfigKey: 'keyed',
      credentials: { type: 'API_KEY', apiKey: API_KEY_SECRET },
    });
    for (let i = 0; i < 4; i++) await manager.get('acct');
    clock.advance(20 * DAY);
    for (let i = 0; i < 5; i++) await manager.get('acct');
    await manager.close();
    // 31 days after the first batch and 11 after the second, a manager writes and applies retention.
    clock.advance(11 * DAY);
    const later = managerWith(settings);
    await later.get('acct');
    await later.close();
    expect((await allEntries(store)).map((entry) => entry.seq)).toEqual([6, 7, 8, 9, 10, 11]);
    expect(await store.get('audit:batch:0000000000000001')).toBeUndefined();
    expect(await verifyAuditTrail(store)).toMatchObject({ ok: true, first: 6, entries: 6 });
    // An anchor moved by hand breaks the chain where it now points.
    const anchor = (await store.get('audit:anchor'))!;
    expect(await store.replace('audit:anchor', anchor, anchor.replace('"seq":6', '"seq":7'))).toBe(true);
    expect(await verifyAuditTrail(store)).toMatchObject({ ok: false, broken: { seq: 7 } });
  });

  it('keeps one chain when two managers share the store', async () => {
    const { store, manager: a, managerWith } = await setup({ audit: { batchSize: 7, flushIntervalMs: 5, actor: 'a' } });
    const b = managerWith({ audit: { batchSize: 3, flushIntervalMs: 5, actor: 'b' } });
    await a.create({
      connectionId: 'x',
      providerConfigKey: 'keyed',
      credentials: { type: 'API_KEY', apiKey: API_KEY_SECRET },
    });
    await Promise.all(
      [a, b].map(async (manager) => {
        for (let i = 0; i < 100; i++) await manager.get('x');
      }),
    );
    await Promise.all([a.close(), b.close()]);
    const entries = await allEntries(store);
    expect(entries).toHaveLength(201);
    expect(entries.filter((entry) => entry.actor === 'b')).toHaveLength(100);
    expect(await verifyAuditTrail(store)).toMatchObject({ ok: true, entries: 201 });
  });

  it('refuses a malformed audit option, naming the field', () => {
    expect(() => testManager({ audit: { batchSize: 0 } })).toThrow(
      expect.objectContaining({ field: 'audit.batchSize' }),
    );
    expect(() => testManager({ audit: 'yes' as never })).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    expect(() => withActor('', () => 1)).toThrow(expect.objectContaining({ field: 'actor' }));
  });
});

/**
 * The store, kept open when a manager closes it (closing is how a test makes a manager write what
 * it buffered), so the test can read what was written; closed for real after the test.
 */
async function keptOpen(open: () => Promise<StorageAdapter>): Promise<StorageAdapter> {
  const store = await open();
  cleanups.push(() => store.close());
  return new Proxy(store, {
    get(target, property) {
      if (property === 'close') return async () => undefined;
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

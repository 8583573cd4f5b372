import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import sqlite3 from 'sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { postgresStore } from '../../adapters/postgres.js';
import { sqliteStore } from '../../adapters/sqlite.js';
import {
  ConnectionManager,
  type ConnectionManagerOptions,
  DecryptionError,
  EncryptionRequiredError,
  InvalidRequestError,
  UnknownEncryptionKeyError,
} from '../../src/index.js';
import type { StorageAdapter } from '../../src/adapter.js';
import { pemKeyPair } from '../support/keys.js';
import { captureLogs } from '../support/logs.js';
import { testManager } from '../support/manager.js';
import { type RunningPostgres, startPostgres } from '../support/postgres.js';

const key1 = randomBytes(32).toString('base64');
const key2 = randomBytes(32).toString('base64');

const integrations: ConnectionManagerOptions['integrations'] = {
  crm: {
    provider: 'crm',
    clientId: 'id',
    clientSecret: 'SECRET-CLIENT-crm',
    definition: { authMode: 'OAUTH2', tokenUrl: 'https://crm.example/token' },
  },
  machine: { provider: 'm', definition: { authMode: 'OAUTH2_CC', tokenUrl: 'https://m.example/token' } },
  signer: { provider: 's', definition: { authMode: 'JWT', jwt: { payload: {}, lifetimeSeconds: 60 } } },
  basic: { provider: 'b', definition: { authMode: 'BASIC' } },
};

/** Stores one connection of each secret-bearing kind and returns the secret strings it holds. */
async function storeSecrets(manager: ConnectionManager): Promise<string[]> {
  const { privateKey } = await pemKeyPair('RS256');
  const secrets = [
    'SECRET-ACCESS-1a2b',
    'SECRET-REFRESH-3c4d',
    'SECRET-CC-5e6f',
    'SECRET-PASSWORD-7a8b',
    'SECRET-CONFIG-9c0d',
  ];
  await manager.create({
    connectionId: 'oauth',
    providerConfigKey: 'crm',
    credentials: { type: 'OAUTH2', access_token: secrets[0], refresh_token: secrets[1], expires_in: 3600 },
    connectionConfig: { instance_url: 'https://acme.my.example', webhook_secret: secrets[4] },
    tags: { plan: 'pro' },
  });
  await manager.create({
    connectionId: 'cc',
    providerConfigKey: 'machine',
    credentials: { type: 'OAUTH2_CC', client_id: 'cid', client_secret: secrets[2] },
  });
  await manager.create({ connectionId: 'jwt', providerConfigKey: 'signer', credentials: { type: 'JWT', privateKey } });
  await manager.create({
    connectionId: 'basic',
    providerConfigKey: 'basic',
    credentials: { type: 'BASIC', username: 'u', password: secrets[3] },
  });
  // The PEM body, without its armour lines, is what must not appear.
  return [...secrets, privateKey.split('\n')[1] as string];
}

function managerOn(store: StorageAdapter, extra: Partial<ConnectionManagerOptions> = {}) {
  return testManager({ store, integrations, ...extra });
}

async function sqliteRows(path: string): Promise<string> {
  const db = new sqlite3.Database(path);
  const rows = await new Promise<Array<{ key: string; value: string }>>((resolve, reject) =>
    db.all('SELECT key, value FROM latchkey', (error, result) =>
      error ? reject(error) : resolve(result as Array<{ key: string; value: string }>),
    ),
  );
  await new Promise((resolve) => db.close(resolve));
  return rows.map((row) => `${row.key} ${row.value}`).join('\n');
}

async function postgresRows(uri: string): Promise<string> {
  const client = new pg.Client({ connectionString: uri });
  await client.connect();
  const { rows } = await client.query<{ key: string; value: string }>('SELECT key, value FROM latchkey');
  await client.end();
  return rows.map((row) => `${row.key} ${row.value}`).join('\n');
}

let directory: string;
let postgres: RunningPostgres;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'latchkey-enc-'));
  postgres = await startPostgres();
});
afterAll(async () => {
  await postgres.stop();
  await rm(directory, { recursive: true, force: true });
});

describe('encryption at rest', () => {
  it('SQLite rows hold no token, secret or private key — while ids, tags and metadata stay readable', async () => {
    const path = join(directory, 'sealed.db');
    const manager = managerOn(sqliteStore(path), { encryptionKey: key1 });
    const secrets = await storeSecrets(manager);
    await manager.close();
    const raw = await sqliteRows(path);
    for (const secret of secrets) expect(raw).not.toContain(secret);
    expect(raw).toContain('"connection_id":"oauth"');
    expect(raw).toContain('"plan":"pro"');

    const reader = managerOn(sqliteStore(path), { encryptionKey: key1 });
    expect((await reader.get('oauth', { refreshToken: true })).credentials).toMatchObject({
      access_token: 'SECRET-ACCESS-1a2b',
      refresh_token: 'SECRET-REFRESH-3c4d',
    });
    expect((await reader.list({ tags: { plan: 'pro' } })).connections.map((c) => c.connection_id)).toEqual(['oauth']);
    await reader.close();
  });

  it('Postgres rows hold no token, secret or private key', async () => {
    const uri = await postgres.createDatabase();
    const manager = managerOn(postgresStore(uri), { encryptionKey: key1 });
    const secrets = await storeSecrets(manager);
    await manager.close();
    const raw = await postgresRows(uri);
    for (const secret of secrets) expect(raw).not.toContain(secret);
    expect(raw).toContain('"connection_id":"basic"');
  });

  it('without a key the same rows are readable in plain text — which is why the library warns', async () => {
    const path = join(directory, 'plain.db');
    const { logger, lines } = captureLogs();
    const manager = testManager({ store: sqliteStore(path), integrations, logger });
    const secrets = await storeSecrets(manager);
    await manager.close();
    expect(await sqliteRows(path)).toContain(secrets[1]);
    // Said once per process, by whichever manager is first; this one may not be first.
    expect(lines.every((line) => !line.includes('SECRET'))).toBe(true);
  });

  it('requireEncryption refuses to start without a key; a malformed key is refused', () => {
    expect(() => new ConnectionManager({ requireEncryption: true })).toThrow(EncryptionRequiredError);
    expect(() => new ConnectionManager({ encryptionKey: 'too-short' })).toThrow(InvalidRequestError);
    expect(() => new ConnectionManager({ encryptionKey: randomBytes(16).toString('base64') })).toThrow(
      InvalidRequestError,
    );
  });
});

describe('key rotation', () => {
  it('reads records under an older key, rewrites them batch by batch, and can be run again', async () => {
    const store = memoryStore();
    const old = managerOn(store, { encryptionKey: key1 });
    for (let i = 0; i < 5; i++) {
      await old.create({
        connectionId: `c${i}`,
        providerConfigKey: 'basic',
        credentials: { type: 'BASIC', username: 'u', password: `pw-${i}` },
      });
    }
    const rotating = managerOn(store, { encryptionKey: [key2, key1] });
    expect((await rotating.get('c3')).credentials).toEqual({ type: 'BASIC', username: 'u', password: 'pw-3' });
    // An interrupted first run: only part of the records get rewritten before it stops.
    await rotating.create({
      connectionId: 'new',
      providerConfigKey: 'basic',
      credentials: { type: 'BASIC', username: 'n', password: 'p' },
    });
    expect(await rotating.rotateEncryptionKey({ batchSize: 2 })).toEqual({ rewritten: 5, unchanged: 1, contended: 0 });
    expect(await rotating.rotateEncryptionKey({ batchSize: 2 })).toEqual({ rewritten: 0, unchanged: 6, contended: 0 });

    const onlyNew = managerOn(store, { encryptionKey: key2 });
    expect((await onlyNew.get('c0')).credentials).toEqual({ type: 'BASIC', username: 'u', password: 'pw-0' });
    const onlyOld = managerOn(store, { encryptionKey: key1 });
    const error = (await onlyOld.get('c0').catch((e: unknown) => e)) as UnknownEncryptionKeyError;
    expect(error).toBeInstanceOf(UnknownEncryptionKeyError);
    expect(error.keyId).toMatch(/^k-[0-9a-f]{12}$/);
    expect(error.message).toContain(error.keyId);
  });

  it('encrypts records written before encryption was turned on', async () => {
    const store = memoryStore();
    const plain = managerOn(store);
    await plain.create({
      connectionId: 'legacy',
      providerConfigKey: 'basic',
      credentials: { type: 'BASIC', username: 'u', password: 'legacy-password' },
    });
    const sealed = managerOn(store, { encryptionKey: { id: 'primary-2026', key: key1 } });
    expect((await sealed.get('legacy')).credentials).toMatchObject({ password: 'legacy-password' });
    expect(await sealed.rotateEncryptionKey()).toEqual({ rewritten: 1, unchanged: 0, contended: 0 });
    expect(await store.get('connection:basic:legacy')).not.toContain('legacy-password');
    expect(await store.get('connection:basic:legacy')).toContain('"sealed"');
    await expect(plain.get('legacy')).rejects.toBeInstanceOf(EncryptionRequiredError);
  });
});

describe('tampering', () => {
  it('refuses an altered ciphertext with a typed error and overwrites nothing', async () => {
    const store = memoryStore();
    const manager = managerOn(store, { encryptionKey: key1 });
    await manager.create({
      connectionId: 'victim',
      providerConfigKey: 'basic',
      credentials: { type: 'BASIC', username: 'u', password: 'p' },
    });
    const key = 'connection:basic:victim';
    const raw = (await store.get(key)) as string;
    const sealed = /"sealed":"([^"]+)"/.exec(raw)?.[1] as string;
    const parts = sealed.split('.');
    const ciphertext = parts[3] as string;
    parts[3] = (ciphertext[0] === 'A' ? 'B' : 'A') + ciphertext.slice(1);
    const tampered = raw.replace(sealed, parts.join('.'));
    expect(await store.replace(key, raw, tampered)).toBe(true);

    await expect(manager.get('victim')).rejects.toBeInstanceOf(DecryptionError);
    await expect(manager.updateConnectionConfig('victim', { a: 1 })).rejects.toBeInstanceOf(DecryptionError);
    expect(await store.get(key)).toBe(tampered);
  });

  it('refuses sealed secrets moved onto another connection’s record', async () => {
    const store = memoryStore();
    const manager = managerOn(store, { encryptionKey: key1 });
    await manager.create({
      connectionId: 'alice',
      providerConfigKey: 'basic',
      credentials: { type: 'BASIC', username: 'alice', password: 'a' },
    });
    await manager.create({
      connectionId: 'mallory',
      providerConfigKey: 'basic',
      credentials: { type: 'BASIC', username: 'mallory', password: 'm' },
    });
    const alice = (await store.get('connection:basic:alice')) as string;
    const mallory = (await store.get('connection:basic:mallory')) as string;
    const aliceSealed = /"sealed":"([^"]+)"/.exec(alice)?.[1] as string;
    const swapped = mallory.replace(/"sealed":"[^"]+"/, `"sealed":"${aliceSealed}"`);
    await store.replace('connection:basic:mallory', mallory, swapped);
    await expect(manager.get('mallory')).rejects.toBeInstanceOf(DecryptionError);
  });
});

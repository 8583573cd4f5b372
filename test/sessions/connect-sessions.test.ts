/**
 * Connect sessions as library calls: Nango's body checked strictly, tokens stored only as a hash
 * (sealed with an encryption key), served by any manager sharing the store, gone when deleted or
 * expired.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { sqliteStore } from '../../adapters/sqlite.js';
import { ConnectionManager, InvalidConnectSessionError, InvalidRequestError } from '../../src/index.js';
import type { StorageAdapter } from '../../src/adapter.js';

const KEY = randomBytes(32).toString('base64');
const integrations = {
  'github-prod': { provider: 'github', clientId: 'id', clientSecret: 'secret' },
  openai: { provider: 'openai', definition: { authMode: 'API_KEY' as const } },
};
const quiet = { warn: () => {}, error: () => {} };

function manager(store: StorageAdapter, clock: () => number = Date.now, encryptionKey: string | undefined = KEY) {
  return new ConnectionManager({ store, integrations, clock, logger: quiet, ...(encryptionKey && { encryptionKey }) });
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

async function dump(store: StorageAdapter): Promise<string> {
  return JSON.stringify(await store.scan('', { limit: 1000 }));
}

describe('connect sessions', () => {
  it('creates a 30-minute session; a second manager on the same SQLite file serves and deletes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-sessions-'));
    dirs.push(dir);
    const path = join(dir, 'store.sqlite');
    const [storeA, storeB] = [sqliteStore(path), sqliteStore(path)];
    let now = Date.parse('2026-03-01T10:00:00Z');
    const a = manager(storeA, () => now);
    const b = manager(storeB, () => now);
    const created = await a.connectSessions.create({
      end_user: { id: 'user-7', email: 'ada@example.com', display_name: 'Ada' },
      organization: { id: 'org-1' },
      allowed_integrations: ['github-prod'],
      integrations_config_defaults: {
        'github-prod': { user_scopes: 'repo', authorization_params: { prompt: 'consent' } },
      },
      tags: { Plan: 'pro' },
    });
    expect(created.token).toMatch(/^nango_connect_session_[a-f0-9]{64}$/);
    expect(created.expires_at).toBe('2026-03-01T10:30:00.000Z');
    const session = await b.connectSessions.get(created.token);
    expect(session).toMatchObject({
      endUser: { id: 'user-7', email: 'ada@example.com', display_name: 'Ada', organization: { id: 'org-1' } },
      allowedIntegrations: ['github-prod'],
      tags: { end_user_id: 'user-7', end_user_email: 'ada@example.com', organization_id: 'org-1', plan: 'pro' },
    });
    // The token is nowhere in the store, and with a key neither is the end user's email.
    const stored = await dump(storeA);
    expect(stored).not.toContain(created.token);
    expect(stored).not.toContain(created.token.slice(-64));
    expect(stored).not.toContain('ada@example.com');
    // A token serves many reads until it is deleted, in every process.
    expect(await a.connectSessions.get(created.token)).toEqual(session);
    await b.connectSessions.delete(created.token);
    await expect(a.connectSessions.get(created.token)).rejects.toMatchObject({
      code: 'invalid_connect_session',
      reason: 'unknown',
    });
    await expect(a.connectSessions.delete(created.token)).rejects.toBeInstanceOf(InvalidConnectSessionError);
    now += 1;
    await storeA.close();
    await storeB.close();
  });

  it('refuses the token once its 30 minutes are over', async () => {
    let now = 1_000_000;
    const m = manager(memoryStore(), () => now);
    const { token } = await m.connectSessions.create({ tags: { team: 'a' } });
    now += 30 * 60_000 - 1;
    await expect(m.connectSessions.get(token)).resolves.toMatchObject({ tags: { team: 'a' }, endUser: null });
    now += 1;
    await expect(m.connectSessions.get(token)).rejects.toMatchObject({
      code: 'invalid_connect_session',
      reason: 'unknown',
    });
  });

  it('tells a malformed token from an unknown one, and knows no token of another store', async () => {
    const m = manager(memoryStore());
    const other = manager(memoryStore());
    const { token } = await other.connectSessions.create({ end_user: { id: 'u' } });
    await expect(m.connectSessions.get(token)).rejects.toMatchObject({ reason: 'unknown' });
    await expect(m.connectSessions.get('nango_connect_session_xyz')).rejects.toMatchObject({ reason: 'format' });
    await expect(m.connectSessions.get(token.toUpperCase())).rejects.toMatchObject({ reason: 'format' });
  });

  it('stores in the clear without a key, still never the token', async () => {
    const store = memoryStore();
    const m = manager(store, Date.now, undefined);
    const { token } = await m.connectSessions.create({ end_user: { id: 'u-1' } });
    expect(await dump(store)).not.toContain(token.slice(-64));
    await expect(m.connectSessions.get(token)).resolves.toMatchObject({ endUser: { id: 'u-1' } });
  });

  it.each([
    [{}, 'end_user'],
    [{ end_user: { id: 'u', phone: '1' } }, 'end_user'],
    [{ end_user: { id: 'u' }, unknown_field: 1 }, 'unknown_field'],
    [{ end_user: { id: 'u', email: 'not-an-email' } }, 'end_user.email'],
    [{ end_user: { id: '' } }, 'end_user.id'],
    [{ end_user: { id: 'u' }, allowed_integrations: ['nope'] }, 'allowed_integrations[0]'],
    [{ end_user: { id: 'u' }, integrations_config_defaults: { nope: {} } }, 'integrations_config_defaults.nope'],
    [{ end_user: { id: 'u' }, integrations_config_defaults: { openai: { extra: 1 } } }, 'integrations_config_defaults'],
    [{ end_user: { id: 'u' }, webhook_url_override: 'ftp://x' }, 'webhook_url_override'],
    [{ end_user: { id: 'u' }, tags: { '1bad': 'x' } }, 'tags'],
  ])('refuses %j naming the field, storing nothing', async (body, field) => {
    const store = memoryStore();
    const m = manager(store);
    const error = await m.connectSessions.create(body as never).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).field).toContain(field);
    expect(await store.scan('', { limit: 10 })).toEqual([]);
  });

  it('pins a reconnect session to one existing connection and keeps its end user', async () => {
    const m = manager(memoryStore());
    await m.create({
      connectionId: 'conn-1',
      providerConfigKey: 'openai',
      credentials: { type: 'API_KEY', apiKey: 'sk-old' },
      endUser: { id: 'user-9', email: 'bo@example.com' },
    });
    const { token } = await m.connectSessions.reconnect({ connection_id: 'conn-1', integration_id: 'openai' });
    await expect(m.connectSessions.get(token)).resolves.toMatchObject({
      reconnect: { connectionId: 'conn-1', providerConfigKey: 'openai' },
      allowedIntegrations: ['openai'],
      endUser: { id: 'user-9', email: 'bo@example.com' },
    });
    await expect(
      m.connectSessions.reconnect({ connection_id: 'missing', integration_id: 'openai' }),
    ).rejects.toMatchObject({
      code: 'invalid_request',
      field: 'connection_id',
    });
    await expect(
      m.connectSessions.reconnect({
        connection_id: 'conn-1',
        integration_id: 'openai',
        allowed_integrations: ['x'],
      } as never),
    ).rejects.toMatchObject({ code: 'invalid_request', field: 'allowed_integrations' });
  });
});

import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { deleteCommand } from '../../src/cli/commands/delete.js';
import { listCommand } from '../../src/cli/commands/list.js';
import { refreshCommand } from '../../src/cli/commands/refresh.js';
import { rotateKeyCommand } from '../../src/cli/commands/rotate-key.js';
import { showCommand } from '../../src/cli/commands/show.js';
import { EXIT_CODES } from '../../src/cli/exit-codes.js';
import type { ConnectionListItem } from '../../src/index.js';
import type { StorageAdapter } from '../../src/adapter.js';
import { capturedIo } from '../support/captured-io.js';
import { testManager } from '../support/manager.js';
import { startTokenServer, type TokenServer } from '../support/token-server.js';

let tokens: TokenServer;
beforeEach(async () => {
  tokens = await startTokenServer();
});
afterEach(async () => {
  await tokens.close();
});

const integrations = () => ({
  local: {
    provider: 'local-idp',
    clientId: tokens.clientId,
    clientSecret: tokens.clientSecret,
    definition: { authMode: 'OAUTH2' as const, tokenUrl: tokens.url },
  },
  keyed: { provider: 'keyed-api', definition: { authMode: 'API_KEY' as const } },
  other: { provider: 'keyed-api', definition: { authMode: 'API_KEY' as const } },
});

const SECRETS = ['stored-access-token', 'stored-refresh-token', 'stored-api-key'];

async function seeded(store: StorageAdapter = memoryStore(), extra: Record<string, unknown> = {}) {
  const manager = testManager({ store, integrations: integrations(), ...extra });
  await manager.create({
    connectionId: 'user-1',
    providerConfigKey: 'local',
    credentials: {
      type: 'OAUTH2',
      access_token: 'stored-access-token',
      refresh_token: 'stored-refresh-token',
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
    },
    tags: { plan: 'pro' },
    endUser: { id: 'end-user-1' },
  });
  await manager.create({
    connectionId: 'user-2',
    providerConfigKey: 'keyed',
    credentials: { type: 'API_KEY', apiKey: 'stored-api-key' },
    metadata: { region: 'eu' },
  });
  return manager;
}

const expectNoSecret = (text: string) => {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
};

describe('latchkey list', () => {
  it('prints every connection with its state, and a failing one with its log id', async () => {
    const manager = await seeded();
    tokens.reply(() => ({ status: 503, json: { error: 'temporarily_unavailable' } }));
    await manager.get('user-1', { forceRefresh: true }).catch(() => undefined);
    const { io, stdout } = capturedIo();

    expect(await listCommand(manager, {}, io)).toBe(EXIT_CODES.ok);

    const lines = stdout().trim().split('\n');
    expect(lines[0]).toMatch(/^CONNECTION\s+INTEGRATION\s+PROVIDER\s+STATE\s+END USER\s+CREATED\s+LOG ID$/);
    expect(lines.find((l) => l.startsWith('user-1'))).toMatch(
      /local\s+local-idp\s+failing\s+end-user-1\s+\S+\s+[0-9a-f]{20}/,
    );
    expect(lines.find((l) => l.startsWith('user-2'))).toMatch(/keyed\s+keyed-api\s+ok/);
    expectNoSecret(stdout());
  });

  it('--json prints Nango’s list shape with a state; --unhealthy keeps only the unhealthy ones', async () => {
    const manager = await seeded();
    tokens.reply(() => ({ status: 503, json: { error: 'temporarily_unavailable' } }));
    await manager.get('user-1', { forceRefresh: true }).catch(() => undefined);
    const all = capturedIo();
    expect(await listCommand(manager, { json: true }, all.io)).toBe(EXIT_CODES.ok);
    const parsed = JSON.parse(all.stdout()) as { connections: Array<ConnectionListItem & { state: string }> };
    expect(parsed.connections.map((c) => [c.connection_id, c.state])).toEqual([
      ['user-1', 'failing'],
      ['user-2', 'ok'],
    ]);
    expectNoSecret(all.stdout());

    const unhealthy = capturedIo();
    await listCommand(manager, { json: true, unhealthy: true }, unhealthy.io);
    expect((JSON.parse(unhealthy.stdout()) as { connections: unknown[] }).connections).toHaveLength(1);
  });

  it('filters by integration, and says so on stderr when nothing matches', async () => {
    const manager = await seeded();
    const keyed = capturedIo();
    await listCommand(manager, { providerConfigKey: 'keyed', json: true }, keyed.io);
    expect((JSON.parse(keyed.stdout()) as { connections: unknown[] }).connections).toHaveLength(1);
    const none = capturedIo();
    expect(await listCommand(manager, { providerConfigKey: 'other' }, none.io)).toBe(EXIT_CODES.ok);
    expect(none.stdout()).toBe('');
    expect(none.stderr()).toContain('No connections.');
  });
});

describe('latchkey show', () => {
  it('shows one connection without credentials or a refresh', async () => {
    const manager = await seeded();
    const { io, stdout } = capturedIo();
    expect(await showCommand(manager, 'user-1', {}, io)).toBe(EXIT_CODES.ok);
    expect(stdout()).toMatch(/^connection\s+user-1$/m);
    expect(stdout()).toMatch(/^state\s+ok$/m);
    expect(stdout()).toContain('"plan":"pro"');
    expectNoSecret(stdout());
    expect(tokens.requests).toHaveLength(0);
  });

  it('exits 3 for an unknown connection and 2 for an id under several integrations', async () => {
    const manager = await seeded();
    await manager.create({
      connectionId: 'user-2',
      providerConfigKey: 'other',
      credentials: { type: 'API_KEY', apiKey: 'x' },
    });
    const unknown = capturedIo();
    expect(await showCommand(manager, 'nobody', {}, unknown.io)).toBe(EXIT_CODES.notFound);
    expect(unknown.stderr()).toContain('unknown_connection');
    const ambiguous = capturedIo();
    expect(await showCommand(manager, 'user-2', {}, ambiguous.io)).toBe(EXIT_CODES.usage);
    expect(ambiguous.stderr()).toContain('--integration');
    const chosen = capturedIo();
    expect(await showCommand(manager, 'user-2', { providerConfigKey: 'other', json: true }, chosen.io)).toBe(
      EXIT_CODES.ok,
    );
    expect(JSON.parse(chosen.stdout())).toMatchObject({
      connection_id: 'user-2',
      provider_config_key: 'other',
      state: 'ok',
    });
  });
});

describe('list and show escape what could drive or fool a terminal', () => {
  // A C1 CSI, an ESC sequence, a right-to-left override, a zero-width space, an isolate, a BOM, a line separator.
  const HOSTILE = 'a\u009b31mb\u001b]0;x\u0007c\u202Ed\u200Be\u2066f\uFEFFg\u2028h\u0085';
  // eslint-disable-next-line no-control-regex -- looking for control characters is the point
  const RAW = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/u;

  async function hostile() {
    const manager = testManager({ store: memoryStore(), integrations: integrations() });
    await manager.create({
      connectionId: 'user-x',
      providerConfigKey: 'keyed',
      credentials: { type: 'API_KEY', apiKey: 'stored-api-key' },
      tags: { note: HOSTILE },
      metadata: { [HOSTILE]: HOSTILE },
      endUser: { id: HOSTILE, email: 'x@example.com' },
    });
    return manager;
  }

  it('human output shows each as a visible escape', async () => {
    const manager = await hostile();
    const listed = capturedIo();
    expect(await listCommand(manager, {}, listed.io)).toBe(EXIT_CODES.ok);
    const shown = capturedIo();
    expect(await showCommand(manager, 'user-x', {}, shown.io)).toBe(EXIT_CODES.ok);
    for (const text of [listed.stdout(), shown.stdout()]) expect(text.replace(/\n/g, '')).not.toMatch(RAW);
    // list prints the end user's id as text; show prints tags and metadata as JSON.
    expect(listed.stdout()).toContain(
      'a\\u{009B}31mb\\u{001B}]0;x\\u{0007}c\\u{202E}d\\u{200B}e\\u{2066}f\\u{FEFF}g\\u{2028}h\\u{0085}',
    );
    expect(shown.stdout()).toContain(
      '"note":"a\\u009B31mb\\u001b]0;x\\u0007c\\u202Ed\\u200Be\\u2066f\\uFEFFg\\u2028h\\u0085"',
    );
    expect(listed.stdout().trim().split('\n')).toHaveLength(2); // the header and one row: no line broken by a stored value
  });

  it('--json escapes them as \\uXXXX, and parses back to the stored values', async () => {
    const manager = await hostile();
    const listed = capturedIo();
    await listCommand(manager, { json: true }, listed.io);
    const shown = capturedIo();
    await showCommand(manager, 'user-x', { json: true }, shown.io);
    for (const text of [listed.stdout(), shown.stdout()]) expect(text.replace(/\n$/, '')).not.toMatch(RAW);
    const item = (JSON.parse(listed.stdout()) as { connections: ConnectionListItem[] }).connections[0]!;
    expect(item.tags).toEqual({ note: HOSTILE });
    expect(item.metadata).toEqual({ [HOSTILE]: HOSTILE });
    expect((JSON.parse(shown.stdout()) as ConnectionListItem).end_user?.id).toBe(HOSTILE);
  });
});

describe('latchkey refresh', () => {
  it('forces a refresh and prints the new expiry, never the token', async () => {
    const manager = await seeded();
    const { io, stdout } = capturedIo();
    expect(await refreshCommand(manager, 'user-1', { json: true }, io)).toBe(EXIT_CODES.ok);
    expect(tokens.requests).toHaveLength(1);
    const result = JSON.parse(stdout()) as { refreshed: boolean; expires_at: string };
    expect(result.refreshed).toBe(true);
    expect(Date.parse(result.expires_at)).toBeGreaterThan(Date.now());
    expect(stdout()).not.toContain('access-1');
  });

  it('exits 1 with the provider’s error and no token when the provider refuses', async () => {
    const manager = await seeded();
    tokens.reply(() => ({ status: 400, json: { error: 'invalid_grant' } }));
    const { io, stderr, stdout } = capturedIo();
    expect(await refreshCommand(manager, 'user-1', {}, io)).toBe(EXIT_CODES.failure);
    expect(stderr()).toContain('refresh_exhausted');
    expectNoSecret(stderr() + stdout());
  });

  it('exits 3 for an unknown connection', async () => {
    const manager = await seeded();
    const { io } = capturedIo();
    expect(await refreshCommand(manager, 'nobody', {}, io)).toBe(EXIT_CODES.notFound);
  });
});

describe('latchkey delete', () => {
  it('refuses without --yes (exit 2) and deletes with it', async () => {
    const manager = await seeded();
    const unconfirmed = capturedIo();
    expect(await deleteCommand(manager, 'user-2', {}, unconfirmed.io)).toBe(EXIT_CODES.usage);
    expect((await manager.list({ connectionId: 'user-2' })).connections).toHaveLength(1);

    const confirmed = capturedIo();
    expect(await deleteCommand(manager, 'user-2', { yes: true }, confirmed.io)).toBe(EXIT_CODES.ok);
    expect((await manager.list({ connectionId: 'user-2' })).connections).toHaveLength(0);
    const again = capturedIo();
    expect(await deleteCommand(manager, 'user-2', { yes: true }, again.io)).toBe(EXIT_CODES.notFound);
  });
});

describe('latchkey rotate-key', () => {
  it('rewrites every connection under the new key, and reads them back with the new key alone', async () => {
    const store = memoryStore();
    const oldKey = { id: 'old', key: randomBytes(32).toString('base64') };
    const newKey = { id: 'new', key: randomBytes(32).toString('base64') };
    await seeded(store, { encryptionKey: oldKey });
    const ring = testManager({ store, integrations: integrations(), encryptionKey: [newKey, oldKey] });
    const { io, stdout } = capturedIo();

    expect(await rotateKeyCommand(ring, { json: true, batchSize: 1 }, io)).toBe(EXIT_CODES.ok);
    expect(JSON.parse(stdout())).toEqual({ rewritten: 2, unchanged: 0, contended: 0 });
    const only = testManager({ store, integrations: integrations(), encryptionKey: newKey });
    expect((await only.get('user-2')).credentials).toMatchObject({ apiKey: 'stored-api-key' });
  });

  it('draws a progress bar on a terminal, and keeps stdout for the result', async () => {
    const store = memoryStore();
    const key = { id: 'k1', key: randomBytes(32).toString('base64') };
    await seeded(store);
    const manager = testManager({ store, integrations: integrations(), encryptionKey: key });
    const { io, stdout, stderr } = capturedIo();
    Object.assign(io.stderr, { isTTY: true, columns: 100 });
    expect(await rotateKeyCommand(manager, {}, io)).toBe(EXIT_CODES.ok);
    expect(stderr()).toContain('Rotating');
    expect(stderr()).toContain('2/2');
    expect(stdout()).toBe('Rewrote 2 connection(s); 0 already under the current key\n');
  });

  it('exits 5 (configuration) when no encryption key is configured', async () => {
    const manager = await seeded();
    const { io, stderr } = capturedIo();
    expect(await rotateKeyCommand(manager, {}, io)).toBe(EXIT_CODES.config);
    expect(stderr()).toContain('encryption_required');
  });
});

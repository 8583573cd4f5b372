import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { importFromNangoCommand, type ImportSummary } from '../../src/cli/commands/import-from-nango.js';
import { EXIT_CODES } from '../../src/cli/exit-codes.js';
import type { ConnectionManager } from '../../src/index.js';
import { capturedIo } from '../support/captured-io.js';
import { testManager } from '../support/manager.js';
import { type FakeNango, type NangoConnectionFull, startFakeNango } from '../support/nango-api-server.js';

const day = (n: number) => `2026-01-${String(n).padStart(2, '0')}T10:00:00.000Z`;
const nangoConnection = (
  n: number,
  providerConfigKey: string,
  credentials: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): NangoConnectionFull => ({
  id: n,
  connection_id: `user-${n}`,
  provider_config_key: providerConfigKey,
  provider: providerConfigKey === 'github-prod' ? 'github' : providerConfigKey,
  created_at: day(n),
  updated_at: day(n),
  last_fetched_at: day(n),
  connection_config: {},
  metadata: null,
  errors: [],
  end_user: null,
  tags: {},
  credentials,
  ...extra,
});
const oauth2 = (n: number) => ({
  type: 'OAUTH2',
  access_token: `nango-access-${n}`,
  refresh_token: `nango-refresh-${n}`,
  expires_at: '2099-01-01T00:00:00.000Z',
  raw: { access_token: `nango-access-${n}`, token_type: 'bearer', scope: 'repo' },
});

/** What Nango holds: three importable, one per kind of skip. */
const NANGO: NangoConnectionFull[] = [
  nangoConnection(1, 'github-prod', oauth2(1), {
    metadata: { plan: 'pro' },
    tags: { team: 'core' },
    end_user: { id: 'eu-1', email: 'one@example.com', display_name: 'One', organization: { id: 'org-1' } },
  }),
  nangoConnection(2, 'keyed', { type: 'API_KEY', apiKey: 'nango-api-key-2' }),
  nangoConnection(3, 'basic', { type: 'BASIC', username: 'alice', password: 'nango-password-3' }),
  nangoConnection(4, 'not-configured', oauth2(4)),
  nangoConnection(5, 'keyed', { type: 'OAUTH3', access_token: 'nango-access-5' }),
  nangoConnection(6, 'github-prod', { type: 'OAUTH2', refresh_token: 'nango-refresh-6' }),
  nangoConnection(7, 'keyed', { type: 'API_KEY', apiKey: 'nango-api-key-7' }),
  nangoConnection(8, 'github-prod', oauth2(8)),
];

const integrations = {
  'github-prod': {
    provider: 'github',
    clientId: 'client-id',
    clientSecret: 'client-secret',
    definition: { authMode: 'OAUTH2' as const, tokenUrl: 'https://github.com/login/oauth/access_token' },
  },
  keyed: { provider: 'keyed', definition: { authMode: 'API_KEY' as const } },
  basic: { provider: 'basic', definition: { authMode: 'BASIC' as const } },
};

let nango: FakeNango;
let dir: string;
let manager: ConnectionManager;
beforeEach(async () => {
  nango = await startFakeNango(NANGO);
  // user-7 was deleted in Nango after it was listed; user-8's refresh failed in Nango (its 424).
  nango.failFetch((key, id) =>
    id === 'user-7'
      ? { status: 404, code: 'not_found' }
      : id === 'user-8'
        ? { status: 424, code: 'connection_refresh_exhausted' }
        : null,
  );
  dir = mkdtempSync(join(tmpdir(), 'latchkey-import-'));
  manager = testManager({ store: memoryStore(), integrations });
});
afterEach(async () => {
  await nango.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = (options: Partial<Parameters<typeof importFromNangoCommand>[1]> = {}) => {
  const captured = capturedIo();
  const result = importFromNangoCommand(
    manager,
    { nangoUrl: nango.url, secretKey: nango.secretKey, checkpoint: join(dir, 'checkpoint.jsonl'), ...options },
    captured.io,
  );
  return result.then((code) => ({ code, ...captured }));
};

describe('latchkey import-from-nango', () => {
  it('walks every page, imports what Latchkey can hold with its refresh token, and lists each skip with its reason', async () => {
    const { code, stdout, stderr } = await run({ pageSize: 3, json: true });

    expect(code).toBe(EXIT_CODES.partial);
    expect(nango.listRequests).toEqual([0, 1, 2]); // 3 + 3 + 2: the short page is the last
    expect(nango.refusedKeys).toBe(0);
    const summary = JSON.parse(stdout()) as ImportSummary;
    expect(summary).toMatchObject({ listed: 8, imported: 3, alreadyImported: 0 });
    const skips = Object.fromEntries(summary.skipped.map((s) => [s.connectionId, s.reason]));
    expect(skips).toEqual({
      'user-4': 'unknown_integration',
      'user-5': 'unsupported_auth_mode',
      'user-6': 'bad_data',
      'user-7': 'not_found_in_nango',
      'user-8': 'refused_by_nango',
    });
    expect(summary.skipped.find((s) => s.connectionId === 'user-8')?.detail).toBe('424 connection_refresh_exhausted');

    const first = await manager.get('user-1', { refreshToken: true });
    expect(first.credentials).toMatchObject({
      type: 'OAUTH2',
      access_token: 'nango-access-1',
      refresh_token: 'nango-refresh-1',
    });
    expect(first).toMatchObject({ metadata: { plan: 'pro' }, tags: { team: 'core' } });
    expect(first.end_user).toMatchObject({ id: 'eu-1', email: 'one@example.com', organization: { id: 'org-1' } });
    expect((await manager.get('user-2')).credentials).toMatchObject({ type: 'API_KEY', apiKey: 'nango-api-key-2' });
    expect((await manager.get('user-3')).credentials).toMatchObject({ type: 'BASIC', username: 'alice' });
    expect((await manager.list()).connections.map((c) => c.connection_id).sort()).toEqual([
      'user-1',
      'user-2',
      'user-3',
    ]);

    const output = stdout() + stderr();
    for (const secret of [nango.secretKey, 'nango-refresh-1', 'nango-api-key-2', 'nango-password-3']) {
      expect(output).not.toContain(secret);
    }
  });

  it('prints a summary grouped by reason', async () => {
    const { code, stdout } = await run();
    expect(code).toBe(EXIT_CODES.partial);
    expect(stdout()).toContain('Listed 8; imported 3; already imported 0; skipped 5.');
    expect(stdout()).toContain('unknown_integration (1):');
    expect(stdout()).toContain('not-configured/user-4: unknown_integration');
    expect(stdout()).toContain('keyed/user-5: OAUTH3');
  });

  it('resumes from its checkpoint after Nango failed midway, fetching only what is left', async () => {
    nango.failFetch((_key, id) => (id === 'user-3' ? { status: 503, code: 'server_error' } : null));
    // This run's Nango serves user-7 and user-8. Newest first: user-3 fails after five were handled.
    const stopped = await run({ concurrency: 1, retries: 0 });
    expect(stopped.code).toBe(EXIT_CODES.failure);
    expect(stopped.stderr()).toContain('Run the same command again to resume.');
    expect(nango.fetches).toEqual([
      'github-prod/user-8',
      'keyed/user-7',
      'github-prod/user-6',
      'keyed/user-5',
      'not-configured/user-4',
      'basic/user-3',
    ]);
    const checkpoint = readFileSync(join(dir, 'checkpoint.jsonl'), 'utf8');
    expect(checkpoint).toContain('"user-8"');
    expect(checkpoint).not.toContain(nango.secretKey);

    nango.failFetch(() => null);
    nango.fetches.length = 0;
    const resumed = await run({ concurrency: 1, json: true });
    const summary = JSON.parse(resumed.stdout()) as ImportSummary;
    // Only what the first run did not store is fetched again (skipped ones are retried).
    expect(nango.fetches).toEqual([
      'github-prod/user-6',
      'keyed/user-5',
      'not-configured/user-4',
      'basic/user-3',
      'keyed/user-2',
      'github-prod/user-1',
    ]);
    expect(summary).toMatchObject({ listed: 8, alreadyImported: 2, imported: 3 });
    expect(summary.skipped.map((s) => s.reason).sort()).toEqual([
      'bad_data',
      'unknown_integration',
      'unsupported_auth_mode',
    ]);
    expect(resumed.code).toBe(EXIT_CODES.partial);
  });

  it('retries a request Nango failed with a 5xx, then goes on', async () => {
    let failures = 0;
    nango.failFetch((_key, id) => (id === 'user-2' && failures++ === 0 ? { status: 502, code: 'bad_gateway' } : null));
    const { code, stdout } = await run({ retries: 1, json: true });
    expect(code).toBe(EXIT_CODES.partial);
    expect((JSON.parse(stdout()) as ImportSummary).imported).toBe(5);
    expect(nango.fetches.filter((f) => f === 'keyed/user-2')).toHaveLength(2);
  });

  it('a refused secret key stops the import with exit 2 and stores nothing', async () => {
    const { code, stderr } = await run({ secretKey: 'wrong-key' });
    expect(code).toBe(EXIT_CODES.usage);
    expect(stderr()).toContain('Nango refused the secret key');
    expect(stderr()).not.toContain('wrong-key');
    expect((await manager.list()).connections).toEqual([]);
  });

  it.each([
    [{ nangoUrl: 'not a url' }, '--nango-url'],
    [{ nangoUrl: 'http://nango.example.com' }, 'https'],
    [{ secretKey: '' }, 'secret key missing'],
    [{ pageSize: 5000 }, '--page-size'],
  ])('refuses %j with exit 2 before any request', async (options, message) => {
    const { code, stderr } = await run(options);
    expect(code).toBe(EXIT_CODES.usage);
    expect(stderr()).toContain(message);
    expect(nango.listRequests).toEqual([]);
  });

  it('refuses a checkpoint written by an import from another Nango', async () => {
    const first = await run({ providerConfigKeys: ['keyed'] });
    expect(first.code).toBe(EXIT_CODES.partial);
    const other = await run({ nangoUrl: nango.url.replace('127.0.0.1', 'localhost') });
    expect(other.code).toBe(EXIT_CODES.usage);
    expect(other.stderr()).toContain('--restart');
    const restarted = await run({ nangoUrl: nango.url.replace('127.0.0.1', 'localhost'), restart: true, json: true });
    expect((JSON.parse(restarted.stdout()) as ImportSummary).alreadyImported).toBe(0);
    expect(existsSync(join(dir, 'checkpoint.jsonl'))).toBe(true);
  });
});

describe('latchkey import-from-nango against servers that page differently', () => {
  const keyed = Array.from({ length: 6 }, (_, i) =>
    nangoConnection(i + 1, 'keyed', { type: 'API_KEY', apiKey: `nango-api-key-${i + 1}` }),
  );
  let quirky: FakeNango | undefined;
  afterEach(async () => {
    await quirky?.close();
    quirky = undefined;
  });
  const runAgainst = async (quirks: Parameters<typeof startFakeNango>[1], options: { pageSize: number }) => {
    quirky = await startFakeNango(keyed, quirks);
    return run({ nangoUrl: quirky.url, secretKey: quirky.secretKey, retries: 0, json: true, ...options });
  };

  it('a server that ignores page: stops at the repeated page and, short of its total, exits 4', async () => {
    const { code, stdout, stderr } = await runAgainst({ ignorePage: true, total: true }, { pageSize: 2 });
    expect(quirky!.listRequests).toEqual([0, 1]);
    expect(code).toBe(EXIT_CODES.partial);
    const summary = JSON.parse(stdout()) as ImportSummary;
    expect(summary).toMatchObject({ listed: 2, imported: 2, nangoTotal: 6 });
    expect(summary.incomplete).toContain('6');
    expect(stderr()).toContain('same connections');
  });

  it('a server that ignores page and limit: one answer holds everything, imported once, exit 0', async () => {
    const { code, stdout } = await runAgainst({ ignorePage: true }, { pageSize: 500 });
    expect(quirky!.listRequests).toEqual([0, 1]);
    expect(code).toBe(EXIT_CODES.ok);
    expect(JSON.parse(stdout()) as ImportSummary).toMatchObject({ listed: 6, imported: 6 });
    expect((await manager.list()).connections).toHaveLength(6);
  });

  it('a server that caps limit below --page-size: follows its page size and imports all 6', async () => {
    const { code, stdout } = await runAgainst({ maxLimit: 2, total: true }, { pageSize: 5 });
    expect(code).toBe(EXIT_CODES.ok);
    expect(quirky!.listRequests).toEqual([0, 1, 2, 3]); // 2 + 2 + 2, then an empty page
    const summary = JSON.parse(stdout()) as ImportSummary;
    expect(summary).toMatchObject({ listed: 6, imported: 6, nangoTotal: 6 });
    expect(summary.incomplete).toBeUndefined();
    expect((await manager.list()).connections).toHaveLength(6);
  });
});

/**
 * The import command against a real Latchkey server standing in for Nango: Nango's API as this
 * package serves it (`createApiHandler` on loopback), walked page by page by the importer, every
 * connection fetched with `refresh_token=true` and upserted into a second, empty manager.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { importFromNangoCommand } from '../../src/cli/commands/import-from-nango.js';
import { EXIT_CODES } from '../../src/cli/exit-codes.js';
import { createApiHandler } from '../../src/http.js';
import { serveOnLoopback } from '../support/api-server.js';
import { capturedIo } from '../support/captured-io.js';
import { testManager } from '../support/manager.js';

const SECRET = 'stand-in-nango-secret-key-0123456789';
const integrations = {
  crm: {
    provider: 'crm',
    clientId: 'crm-client',
    clientSecret: 'crm-client-secret',
    definition: { authMode: 'OAUTH2' as const, tokenUrl: 'https://crm.example.com/oauth/token' },
  },
  keys: { provider: 'any-api', definition: { authMode: 'API_KEY' as const } },
};
const closers: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

it('moves every connection, refresh tokens included, out of a Latchkey server speaking Nango’s API', async () => {
  const source = testManager({ store: memoryStore(), integrations });
  for (let i = 0; i < 7; i++) {
    await source.create({
      connectionId: `user-${i}`,
      providerConfigKey: i % 2 === 0 ? 'crm' : 'keys',
      credentials:
        i % 2 === 0
          ? {
              type: 'OAUTH2',
              access_token: `access-${i}`,
              refresh_token: `refresh-${i}`,
              expires_at: new Date(Date.now() + 3_600_000).toISOString(),
            }
          : { type: 'API_KEY', apiKey: `key-${i}` },
      metadata: { n: i },
      tags: { team: i < 3 ? 'a' : 'b' },
    });
  }
  const nango = await serveOnLoopback(createApiHandler({ manager: source, apiKeys: [{ key: SECRET }] }));
  closers.push(nango.close, () => source.close());
  const target = testManager({ store: memoryStore(), integrations });
  closers.push(() => target.close());
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-import-'));
  closers.push(() => rmSync(dir, { recursive: true, force: true }));

  const { io, stdout } = capturedIo();
  const code = await importFromNangoCommand(
    target,
    { nangoUrl: nango.url, secretKey: SECRET, checkpoint: join(dir, 'checkpoint.jsonl'), pageSize: 3, json: true },
    io,
  );
  expect(code).toBe(EXIT_CODES.ok);
  const summary = JSON.parse(stdout()) as { listed: number; imported: number; skipped: unknown[] };
  expect(summary).toMatchObject({ listed: 7, imported: 7, skipped: [] });

  const copied = await target.list();
  expect(copied.connections.map((c) => c.connection_id).sort()).toEqual(
    Array.from({ length: 7 }, (_, i) => `user-${i}`).sort(),
  );
  const oauth = await target.get('user-2', { providerConfigKey: 'crm', refreshToken: true });
  expect(oauth.credentials).toMatchObject({ type: 'OAUTH2', access_token: 'access-2', refresh_token: 'refresh-2' });
  expect(oauth.metadata).toEqual({ n: 2 });
  expect(oauth.tags).toEqual({ team: 'a' });
  expect((await target.get('user-3')).credentials).toEqual({ type: 'API_KEY', apiKey: 'key-3' });
  expect(stdout()).not.toMatch(/refresh-\d|key-\d"/);
});

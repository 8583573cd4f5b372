/**
 * Issue 11, item 7: after encryption is turned on and the records are rewritten sealed, the
 * plaintext they replaced must not survive in SQLite's free pages. The database file is read raw.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import { ConnectionManager, type ConnectionManagerOptions } from '../../src/index.js';
import { captureLogs } from '../support/logs.js';

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'latchkey-free-pages-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const integrations: ConnectionManagerOptions['integrations'] = {
  crm: { provider: 'crm', definition: { authMode: 'OAUTH2', tokenUrl: 'https://crm.example/token' } },
};

it('rotating to encryption leaves no plaintext token in the file’s free pages', async () => {
  const path = join(directory, 'rotated.db');
  // Large enough to spill into overflow pages, which a rewrite frees whole.
  const marker = `PLAINTEXT-TOKEN-${randomBytes(8).toString('hex')}-`;
  const token = marker.repeat(400);
  const plain = new ConnectionManager({ store: sqliteStore(path), integrations, logger: captureLogs().logger });
  for (const id of ['a', 'b', 'c']) {
    await plain.create({
      connectionId: id,
      providerConfigKey: 'crm',
      credentials: { type: 'OAUTH2', access_token: `${token}${id}` },
    });
  }
  await plain.close();
  expect((await readFile(path)).includes(marker)).toBe(true);

  const sealed = new ConnectionManager({
    store: sqliteStore(path),
    integrations,
    encryptionKey: randomBytes(32).toString('base64'),
    logger: captureLogs().logger,
  });
  expect((await sealed.rotateEncryptionKey()).rewritten).toBe(3);
  await sealed.close(); // the last connection closing checkpoints the WAL into the file
  // Before: the replaced plaintext rows were still in the file's free pages.
  expect((await readFile(path)).includes(marker)).toBe(false);
});

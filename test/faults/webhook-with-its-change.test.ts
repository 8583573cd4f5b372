import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import { ConnectionManager } from '../../src/index.js';
import { connectionKey } from '../../src/store/keys.js';
import { type WebhookReceiver, startWebhookReceiver } from '../support/webhook-receiver.js';

// Found by the chaos soak (docs/reliability.md): a creation or override webhook was written to the
// outbox after its change, not with it, so a process killed between the two (a deploy, a crash)
// lost the webhook of a change that was stored and whose `upsert` had returned.

const now = Date.parse('2026-12-07T06:00:00.000Z');
const secret = 'whsec-0123456789abcdef';
const worker = fileURLToPath(new URL('./support/upsert-then-die.ts', import.meta.url));
let receiver: WebhookReceiver;
let path: string;

beforeEach(async () => {
  path = join(tmpdir(), `latchkey-webhook-change-${randomBytes(6).toString('hex')}.db`);
  receiver = await startWebhookReceiver();
});
afterEach(async () => {
  await receiver.close();
  for (const suffix of ['', '-wal', '-shm']) await rm(`${path}${suffix}`, { force: true });
});

function manager(clock: () => number) {
  return new ConnectionManager({
    store: sqliteStore({ path }),
    integrations: { keys: { provider: 'keys', definition: { authMode: 'API_KEY' } } },
    clock,
    logger: { warn: () => {}, error: () => {} },
    requireEncryption: false,
  });
}

const operations = () =>
  receiver.received.map((webhook) => (JSON.parse(webhook.raw) as { operation: string }).operation);

it('a process killed the moment upsert returned still gets its webhook out: the next process sends it', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', worker, JSON.stringify({ path, url: receiver.url, secret, now })],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  expect({ code, signal, stderr }).toMatchObject({ code: null, signal: 'SIGKILL' });

  // The change is stored; a process started later (its clock past the hold) sends the webhook.
  const next = manager(() => now + 61_000);
  try {
    expect(await next.get('conn')).toMatchObject({ credentials: { apiKey: 'key-1' } });
    const sender = next.startWebhooks({ url: receiver.url, secret });
    await vi.waitFor(() => expect(receiver.received).toHaveLength(1), { timeout: 10_000 });
    expect(operations()).toEqual(['creation']);
    await vi.waitFor(async () => expect(await sender.pending()).toBe(0));
    // The notice that proved the change is taken off the record once the webhook is released.
    await vi.waitFor(async () => {
      const stored = await sqliteStore({ path }).get(connectionKey('keys', 'conn'));
      expect(JSON.parse(stored ?? '{}')).not.toHaveProperty('webhook_notices');
    });
  } finally {
    await next.close();
  }
});

it('a webhook held for a change that was never stored is dropped, never sent', async () => {
  const clock = { now };
  const first = manager(() => clock.now);
  first.startWebhooks({ url: receiver.url, secret });
  const input = {
    connectionId: 'conn',
    providerConfigKey: 'keys',
    credentials: { type: 'API_KEY' as const, apiKey: 'a' },
  };
  await first.create(input);
  // A second create is refused (a duplicate): its held webhook has no change behind it.
  await expect(first.create({ ...input, credentials: { type: 'API_KEY', apiKey: 'b' } })).rejects.toMatchObject({
    code: 'duplicate_connection',
  });
  await vi.waitFor(() => expect(receiver.received).toHaveLength(1));
  await first.close();

  clock.now += 61_000;
  const next = manager(() => clock.now);
  try {
    const sender = next.startWebhooks({ url: receiver.url, secret });
    // Dropped once its hold ended: the outbox empties with no second webhook.
    await vi.waitFor(async () => {
      let entries = 0;
      const store = sqliteStore({ path });
      try {
        entries = (await store.scan('webhook:', { limit: 10 })).length;
      } finally {
        await store.close();
      }
      expect(entries).toBe(0);
    });
    expect(await sender.pending()).toBe(0);
    expect(operations()).toEqual(['creation']);
  } finally {
    await next.close();
  }
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import { ConnectionManager } from '../../src/index.js';
import { captureLogs } from '../support/logs.js';
import { testManagerOptions } from '../support/manager.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { type SqliteHolder, startSqliteHolder } from './support/sqlite-holder.js';

const secret = 'whsec-0123456789abcdef';
let dir: string;
let receiver: WebhookReceiver;
let holder: SqliteHolder | undefined;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-webhook-faults-'));
  receiver = await startWebhookReceiver();
});
afterEach(async () => {
  await holder?.release().catch(() => undefined);
  await holder?.stop();
  holder = undefined;
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

it('a webhook the receiver took but the outbox could not forget (store locked) is delivered again, same id, once the store is back', async () => {
  const path = join(dir, 'store.sqlite');
  const { logger, lines } = captureLogs();
  const manager = new ConnectionManager(
    testManagerOptions({
      store: sqliteStore({ path, busyTimeoutMs: 20 }),
      integrations: { keyed: { provider: 'keyed-api', definition: { authMode: 'API_KEY' } } },
      logger,
    }),
  );
  try {
    const sender = manager.startWebhooks({ url: receiver.url, secret, retry: { initialDelayMs: 20, maxDelayMs: 50 } });
    holder = await startSqliteHolder(path);
    const locked = holder;
    // Another process takes the write lock while the receiver handles the first delivery: the
    // receiver answers 200, and the sender's delete of the outbox entry then fails.
    receiver.beforeAnswer(async (index) => {
      if (index === 0) await locked.hold();
    });
    await manager.create({
      connectionId: 'user-1',
      providerConfigKey: 'keyed',
      credentials: { type: 'API_KEY', apiKey: 'k-1' },
    });
    await vi.waitFor(() => expect(lines.some((line) => line.includes('webhook delivery pass failed'))).toBe(true));
    expect(receiver.received).toHaveLength(1);

    await locked.release();
    await vi.waitFor(() => expect(receiver.received).toHaveLength(2));
    await vi.waitFor(async () => expect(await sender.pending()).toBe(0));
    const [first, second] = receiver.received;
    expect(second!.headers['x-latchkey-webhook-id']).toBe(first!.headers['x-latchkey-webhook-id']);
    expect(second!.raw).toBe(first!.raw);
    expect(lines.join('\n')).not.toContain(secret);
  } finally {
    await manager.close();
  }
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import { ConnectionManager } from '../../src/index.js';
import { captureLogs } from '../support/logs.js';
import { testClock, testManagerOptions } from '../support/manager.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

// Regression: each sender start attempted every pending webhook, due or not, and counted the
// attempt. With the receiver failing, 11 restarts in under a second spent all 12 attempts and the
// webhook was dropped, where the back-off promises about four hours of retries.

const secret = 'whsec-0123456789abcdef';
/** How long to wait for a delivery on a loaded machine: a deadline, not a sleep. */
const DEADLINE = { timeout: 10_000 };
let receiver: WebhookReceiver;
let dir: string;
beforeEach(async () => {
  receiver = await startWebhookReceiver();
  dir = mkdtempSync(join(tmpdir(), 'latchkey-webhook-restarts-'));
});
afterEach(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

const idOf = (index: number) => receiver.received[index]!.headers['x-latchkey-webhook-id'] as string;

it('restarts (one SQLite file, a new manager each time) follow the stored back-off, and the webhook is delivered once when due', async () => {
  const file = join(dir, 'store.sqlite');
  const clock = testClock();
  const manager = (logger = captureLogs().logger) =>
    new ConnectionManager(
      testManagerOptions({
        store: sqliteStore(file),
        integrations: { keyed: { provider: 'keyed-api', definition: { authMode: 'API_KEY' } } },
        clock,
        logger,
      }),
    );
  const create = (instance: ConnectionManager, connectionId: string) =>
    instance.create({ connectionId, providerConfigKey: 'keyed', credentials: { type: 'API_KEY', apiKey: 'k-1' } });
  receiver.answer(() => 503); // the app is down behind its proxy

  const logs = captureLogs();
  const first = manager(logs.logger);
  first.startWebhooks({ url: receiver.url, secret });
  await create(first, 'watched');
  // Closing while the attempt is in flight would abandon it uncounted: wait until it is recorded.
  await vi.waitFor(() => expect(logs.lines.some((line) => line.includes('will retry'))).toBe(true), DEADLINE);
  expect(receiver.received).toHaveLength(1);
  const watched = idOf(0);
  await first.close();

  // A crash loop: 15 starts, more than the 12 attempts a webhook gets. Each start creates one
  // more connection; its webhook arriving proves the pass that sent it went over the outbox,
  // oldest entry (the watched one) first.
  for (let restart = 1; restart <= 15; restart++) {
    const instance = manager();
    try {
      instance.startWebhooks({ url: receiver.url, secret });
      const before = receiver.received.length;
      await create(instance, `marker-${restart}`);
      await vi.waitFor(
        () =>
          expect(receiver.received.slice(before).map((w) => JSON.parse(w.raw) as { connectionId: string })).toEqual(
            expect.arrayContaining([expect.objectContaining({ connectionId: `marker-${restart}` })]),
          ),
        DEADLINE,
      );
    } finally {
      await instance.close();
    }
  }
  const attemptsAt = (id: string) => receiver.received.filter((w) => w.headers['x-latchkey-webhook-id'] === id);
  expect(attemptsAt(watched)).toHaveLength(1);

  // The app is back, and the first retry's time has come: delivered once, as the second attempt.
  receiver.answer(() => 200);
  clock.advance(2_000);
  const last = manager();
  try {
    const sender = last.startWebhooks({ url: receiver.url, secret });
    await vi.waitFor(async () => expect(await sender.pending()).toBe(0), DEADLINE);
    const attempts = attemptsAt(watched);
    expect(attempts).toHaveLength(2);
    expect(attempts[1]!.headers['x-latchkey-webhook-attempt']).toBe('2');
  } finally {
    await last.close();
  }
});

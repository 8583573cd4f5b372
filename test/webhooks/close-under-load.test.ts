import { afterEach, beforeEach, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import type { StorageAdapter } from '../../src/adapter.js';
import { testManager } from '../support/manager.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

// Found by the chaos soak: `close()` waited for every change under way, those that began after it
// too, so a process whose load did not stop never finished closing.

const keyed = { keyed: { provider: 'keyed-api', definition: { authMode: 'API_KEY' as const } } };
const upsert = (connectionId: string) => ({
  connectionId,
  providerConfigKey: 'keyed',
  credentials: { type: 'API_KEY' as const, apiKey: `key-of-${connectionId}` },
});

/** A memory store whose writes of the connection records named in `held` wait until let go. */
function gatedStore(held: Set<string>) {
  const inner = memoryStore();
  const waiting = new Map<string, () => void>();
  const arrivals = new Map<string, () => void>();
  const gate = async (key: string) => {
    if (!held.has(key)) return;
    await new Promise<void>((resolve) => {
      waiting.set(key, resolve);
      arrivals.get(key)?.();
    });
  };
  const store: StorageAdapter = {
    ...inner,
    insert: async (key, value, options) => (await gate(key), inner.insert(key, value, options)),
    replace: async (key, expected, next, options) => (await gate(key), inner.replace(key, expected, next, options)),
  };
  return {
    store,
    /** Resolves once a write of `key` waits at the gate. */
    arrived: (key: string) =>
      new Promise<void>((resolve) => (waiting.has(key) ? resolve() : arrivals.set(key, resolve))),
    /** Lets the write of `key` go, and those after it. */
    letGo: (key: string) => {
      held.delete(key);
      waiting.get(key)?.();
    },
  };
}

let receiver: WebhookReceiver;
beforeEach(async () => {
  receiver = await startWebhookReceiver();
});
afterEach(async () => {
  await receiver.close();
});

it('close() waits for the changes under way when it begins, not for those that begin later', async () => {
  const one = 'connection:keyed:user-1';
  const two = 'connection:keyed:user-2';
  const gated = gatedStore(new Set([one, two]));
  const manager = testManager({ store: gated.store, integrations: keyed });
  manager.startWebhooks({ url: receiver.url, secret: 'whsec-0123456789abcdef' });

  const first = manager.upsert(upsert('user-1'));
  await gated.arrived(one);
  let closed = false;
  const closing = manager.close().then(() => (closed = true));
  // A change that begins while close() runs (a server's load does not stop when it closes).
  const later = manager.upsert(upsert('user-2')).catch((error: unknown) => error);
  await gated.arrived(two);
  gated.letGo(one); // the first change is stored; the later one still waits
  await first;
  await closing; // before the fix: waited for the later change too, which waits on the gate
  expect(closed).toBe(true);
  gated.letGo(two);
  expect(await later).toBeInstanceOf(Error); // the store had closed
});

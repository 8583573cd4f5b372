import { createHmac } from 'node:crypto';
import { Nango } from '@nangohq/node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { InvalidRequestError, verifyWebhook, verifyWebhookSignature } from '../../src/index.js';
import { captureLogs } from '../support/logs.js';
import { testManager } from '../support/manager.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

// Regression: the only signature covered the body, which has no id or time, so two creations of
// one connection were byte-identical signed webhooks and a captured one could be replayed for ever.

const secret = 'whsec-0123456789abcdef';
/** How long to wait for a delivery on a loaded machine: a deadline, not a sleep. */
const DEADLINE = { timeout: 10_000 };
const keyed = { keyed: { provider: 'keyed-api', definition: { authMode: 'API_KEY' as const } } };
let receiver: WebhookReceiver;
beforeEach(async () => {
  receiver = await startWebhookReceiver();
});
afterEach(async () => {
  await receiver.close();
});

/** Creates the same connection twice (deleted in between): two webhooks with byte-identical bodies. */
async function twoIdenticalCreations() {
  const manager = testManager({ store: memoryStore(), integrations: keyed });
  manager.startWebhooks({ url: receiver.url, secret });
  const input = { connectionId: 'same', providerConfigKey: 'keyed', credentials: { type: 'API_KEY', apiKey: 'k' } };
  await manager.create(input);
  await vi.waitFor(() => expect(receiver.received).toHaveLength(1), DEADLINE);
  await manager.delete({ connectionId: 'same', providerConfigKey: 'keyed' });
  await manager.create(input);
  await vi.waitFor(() => expect(receiver.received).toHaveLength(2), DEADLINE);
  return receiver.received;
}

describe('timestamped webhook signatures', () => {
  it('two identical bodies get distinct ids, each verified; Nango’s header and client still accept them', async () => {
    const [first, second] = await twoIdenticalCreations();
    expect(first!.raw).toBe(second!.raw);
    expect(first!.headers['x-nango-hmac-sha256']).toBe(second!.headers['x-nango-hmac-sha256']);

    const verified = [first!, second!].map((webhook) => verifyWebhook(secret, webhook.raw, webhook.headers));
    expect(verified).toEqual([
      { valid: true, id: first!.headers['x-latchkey-webhook-id'], timestamp: expect.any(Number) as number },
      { valid: true, id: second!.headers['x-latchkey-webhook-id'], timestamp: expect.any(Number) as number },
    ]);
    expect(verified[0]).not.toEqual(verified[1]);
    // The header is t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.id.body">, as documented.
    const header = first!.headers['x-latchkey-signature'] as string;
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header)!;
    const id = first!.headers['x-latchkey-webhook-id'] as string;
    expect(v1).toBe(createHmac('sha256', secret).update(`${t}.${id}.${first!.raw}`).digest('hex'));
    expect(Math.abs(Number(t) - Date.now() / 1000)).toBeLessThan(300);

    const nango = new Nango({ secretKey: secret });
    expect(nango.verifyIncomingWebhookRequest(first!.raw, first!.headers as Record<string, unknown>)).toBe(true);
    expect(verifyWebhookSignature(secret, first!.raw, first!.headers['x-nango-hmac-sha256'] as string)).toBe(true);
  });

  it('refuses a replay outside the tolerance, another id, another body, another secret, and missing headers', async () => {
    const [first, second] = await twoIdenticalCreations();
    const headers = new Headers(first!.headers as Record<string, string>);
    const t = Number(/t=(\d+)/.exec(headers.get('x-latchkey-signature')!)![1]) * 1000;

    expect(verifyWebhook(secret, first!.raw, headers, { now: t + 299_000 })).toMatchObject({ valid: true });
    expect(verifyWebhook(secret, first!.raw, headers, { now: t + 301_000 })).toEqual({
      valid: false,
      reason: 'outside_tolerance',
    });
    expect(verifyWebhook(secret, first!.raw, headers, { now: t - 301_000 })).toMatchObject({ valid: false });
    expect(verifyWebhook(secret, first!.raw, headers, { now: t + 3_600_000, toleranceSeconds: 3_700 })).toMatchObject({
      valid: true,
    });
    // The first webhook's signature under the second one's id: a receiver deduping on ids cannot be fooled.
    const swapped = new Headers(headers);
    swapped.set('x-latchkey-webhook-id', second!.headers['x-latchkey-webhook-id'] as string);
    expect(verifyWebhook(secret, first!.raw, swapped)).toEqual({ valid: false, reason: 'bad_signature' });
    expect(verifyWebhook(secret, first!.raw.replace('same', 'else'), headers)).toEqual({
      valid: false,
      reason: 'bad_signature',
    });
    expect(verifyWebhook('whsec-another-secret-value', first!.raw, headers)).toEqual({
      valid: false,
      reason: 'bad_signature',
    });
    const without = (name: string) => {
      const copy = new Headers(headers);
      copy.delete(name);
      return copy;
    };
    expect(verifyWebhook(secret, first!.raw, without('x-latchkey-signature'))).toEqual({
      valid: false,
      reason: 'missing_signature',
    });
    expect(verifyWebhook(secret, first!.raw, without('x-latchkey-webhook-id'))).toEqual({
      valid: false,
      reason: 'missing_id',
    });
    for (const malformed of ['t=abc,v1=00', 'v1=' + 'a'.repeat(64), 't=1700000000', '']) {
      const copy = new Headers(headers);
      copy.set('x-latchkey-signature', malformed);
      expect(verifyWebhook(secret, first!.raw, copy)).toEqual({ valid: false, reason: 'malformed_signature' });
    }
  });

  it('retries carry the same id and a fresh signed time, each verified', async () => {
    receiver.answer((_webhook, index) => (index === 0 ? 500 : 200));
    const manager = testManager({ store: memoryStore(), integrations: keyed, clock: Date.now });
    manager.startWebhooks({ url: receiver.url, secret, retry: { initialDelayMs: 10, maxDelayMs: 20 } });
    await manager.create({
      connectionId: 'r',
      providerConfigKey: 'keyed',
      credentials: { type: 'API_KEY', apiKey: 'k' },
    });
    await vi.waitFor(() => expect(receiver.received).toHaveLength(2), DEADLINE);
    const results = receiver.received.map((webhook) => verifyWebhook(secret, webhook.raw, webhook.headers));
    expect(results.every((result) => result.valid)).toBe(true);
    expect(new Set(results.map((result) => result.valid && result.id)).size).toBe(1);
  });
});

describe('a webhook URL with credentials in it', () => {
  it('is refused at start, naming the field and never the password', () => {
    const { logger, lines } = captureLogs();
    const manager = testManager({ store: memoryStore(), integrations: keyed, logger });
    const attempt = () =>
      manager.startWebhooks({ url: 'https://hooks:pass-w0rd-value@app.example.com/webhooks', secret });
    expect(attempt).toThrow(InvalidRequestError);
    try {
      attempt();
    } catch (error) {
      expect((error as InvalidRequestError).field).toBe('url');
      expect(JSON.stringify(error)).not.toContain('pass-w0rd-value');
      expect((error as Error).message).not.toContain('pass-w0rd-value');
    }
    expect(lines.join('\n')).not.toContain('pass-w0rd-value');
  });
});

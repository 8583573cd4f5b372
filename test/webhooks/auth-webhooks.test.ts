import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Nango } from '@nangohq/node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import { memoryStore } from '../../adapters/memory.js';
import {
  type AuthWebhookBody,
  ConnectionManager,
  type ConnectionManagerOptions,
  InvalidRequestError,
  verifyWebhookSignature,
} from '../../src/index.js';
import { captureLogs } from '../support/logs.js';
import { testClock, testManager, testManagerOptions } from '../support/manager.js';
import { startTokenServer, type TokenServer } from '../support/token-server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const secret = 'whsec-0123456789abcdef';
const fast = { initialDelayMs: 10, maxDelayMs: 50 };

let receiver: WebhookReceiver;
let dir: string;
beforeEach(async () => {
  receiver = await startWebhookReceiver();
  dir = mkdtempSync(join(tmpdir(), 'latchkey-webhooks-'));
});
afterEach(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

const bodies = () => receiver.received.map((webhook) => JSON.parse(webhook.raw) as AuthWebhookBody);
const apiKey = (connectionId: string, key = 'secret-api-key-value') => ({
  connectionId,
  providerConfigKey: 'keyed',
  credentials: { type: 'API_KEY', apiKey: key },
});
const keyed = { keyed: { provider: 'keyed-api', definition: { authMode: 'API_KEY' as const } } };

function sqliteManager(file: string, extra: ConnectionManagerOptions = {}): ConnectionManager {
  return new ConnectionManager(testManagerOptions({ store: sqliteStore(file), integrations: keyed, ...extra }));
}

describe('auth webhooks', () => {
  it('sends a creation webhook in Nango’s shape, signed so that a Nango receiver verifies it, and empties the outbox', async () => {
    const manager = testManager({ store: memoryStore(), integrations: keyed });
    const sender = manager.startWebhooks({ url: receiver.url, secret, environment: 'dev' });

    await manager.create({
      ...apiKey('user-1'),
      tags: { plan: 'pro' },
      endUser: { id: 'end-user-7', email: 'user@example.com', organization: { id: 'org-3' } },
    });
    await vi.waitFor(() => expect(receiver.received).toHaveLength(1));
    await vi.waitFor(async () => expect(await sender.pending()).toBe(0));

    const [webhook] = receiver.received;
    const raw = webhook!.raw;
    expect(JSON.parse(raw)).toEqual({
      from: 'latchkey',
      type: 'auth',
      operation: 'creation',
      success: true,
      connectionId: 'user-1',
      providerConfigKey: 'keyed',
      provider: 'keyed-api',
      authMode: 'API_KEY',
      environment: 'dev',
      tags: { plan: 'pro' },
      endUser: { endUserId: 'end-user-7', endUserEmail: 'user@example.com', organizationId: 'org-3', tags: {} },
    });
    // The check docs/webhooks.md tells receivers to make: HMAC-SHA256 of the raw body, hex.
    const expected = createHmac('sha256', secret).update(raw).digest('hex');
    expect(webhook!.headers['x-nango-hmac-sha256']).toBe(expected);
    expect(verifyWebhookSignature(secret, raw, webhook!.headers['x-nango-hmac-sha256'] as string)).toBe(true);
    expect(verifyWebhookSignature('another-secret-value', raw, expected)).toBe(false);
    // The published Nango client accepts it as one of Nango's own.
    const nango = new Nango({ secretKey: secret });
    expect(nango.verifyIncomingWebhookRequest(raw, webhook!.headers as Record<string, unknown>)).toBe(true);
    expect(webhook!.headers['content-type']).toBe('application/json');
    expect(webhook!.headers['x-latchkey-webhook-attempt']).toBe('1');
    expect(raw).not.toContain('secret-api-key-value');
    expect(raw).not.toContain(secret);
  });

  it('sends override when upsert replaces a connection’s credentials', async () => {
    const manager = testManager({ store: memoryStore(), integrations: keyed });
    manager.startWebhooks({ url: receiver.url, secret });
    await manager.create(apiKey('user-2'));
    await vi.waitFor(() => expect(receiver.received).toHaveLength(1));
    await manager.upsert(apiKey('user-2', 'rotated-api-key-value'));
    await vi.waitFor(() => expect(receiver.received).toHaveLength(2));
    expect(bodies().map((b) => [b.operation, b.success])).toEqual([
      ['creation', true],
      ['override', true],
    ]);
    expect(receiver.received[1]!.raw).not.toContain('rotated-api-key-value');
  });

  describe('refresh failures', () => {
    let tokens: TokenServer;
    beforeEach(async () => {
      tokens = await startTokenServer();
    });
    afterEach(async () => {
      await tokens.close();
    });

    const managers: ConnectionManager[] = [];
    async function failingConnection(reply: { status: number; json: unknown }) {
      const manager = testManager({
        store: memoryStore(),
        integrations: {
          local: {
            provider: 'local-idp',
            clientId: tokens.clientId,
            clientSecret: tokens.clientSecret,
            definition: { authMode: 'OAUTH2', tokenUrl: tokens.url },
          },
        },
      });
      await manager.create({
        connectionId: 'user-3',
        providerConfigKey: 'local',
        credentials: {
          type: 'OAUTH2',
          access_token: 'stale-access-token',
          refresh_token: 'refresh-token-value',
          expires_at: new Date(Date.now() - 60_000).toISOString(),
        },
      });
      managers.push(manager);
      manager.startWebhooks({ url: receiver.url, secret });
      tokens.reply(() => reply);
      await manager.get('user-3').catch(() => undefined);
      await vi.waitFor(() => expect(receiver.received).toHaveLength(1));
      return bodies()[0]!;
    }

    it('a transient failure sends one refresh webhook with success false and the provider’s error', async () => {
      const body = await failingConnection({ status: 503, json: { error: 'temporarily_unavailable' } });
      expect(body).toMatchObject({ type: 'auth', operation: 'refresh', success: false, connectionId: 'user-3' });
      expect(body.error?.type).not.toBe('refresh_exhausted');
      expect(body.error?.description).toMatch(/Log id [0-9a-f]{20}/);
      expect(receiver.received[0]!.raw).not.toContain('refresh-token-value');
      expect(receiver.received[0]!.raw).not.toContain('stale-access-token');
    });

    it('a connection that recovers after a failed refresh sends refresh with success true (Nango’s recovery webhook)', async () => {
      await failingConnection({ status: 503, json: { error: 'temporarily_unavailable' } });
      tokens.reply(() => ({ json: { access_token: 'new-access-token', expires_in: 3600, token_type: 'Bearer' } }));
      const manager = managers.at(-1)!;
      await manager.get('user-3', { forceRefresh: true });
      await vi.waitFor(() => expect(receiver.received).toHaveLength(2));
      expect(bodies()[1]).toEqual({
        from: 'latchkey',
        type: 'auth',
        operation: 'refresh',
        success: true,
        connectionId: 'user-3',
        providerConfigKey: 'local',
        provider: 'local-idp',
        authMode: 'OAUTH2',
        environment: 'prod',
        tags: {},
      });
      expect(receiver.received[1]!.raw).not.toContain('new-access-token');
    });

    it('the failure that kills the grant sends one webhook, marked refresh_exhausted, not two', async () => {
      const body = await failingConnection({ status: 400, json: { error: 'invalid_grant' } });
      expect(body).toMatchObject({ operation: 'refresh', success: false, error: { type: 'refresh_exhausted' } });
      expect(body.error?.description).toContain('invalid_grant');
      // Give a second webhook every chance to arrive: none does.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(receiver.received).toHaveLength(1);
    });
  });

  it('retries after 500s with the same id and signature until the receiver answers 2xx', async () => {
    receiver.answer((_webhook, index) => (index < 2 ? 500 : 204));
    const { logger, lines } = captureLogs();
    // The outbox's back-off runs on the manager's clock: this one moves with real time.
    const manager = testManager({ store: memoryStore(), integrations: keyed, logger, clock: Date.now });
    const sender = manager.startWebhooks({ url: receiver.url, secret, retry: fast });
    await manager.create(apiKey('user-4'));

    await vi.waitFor(() => expect(receiver.received).toHaveLength(3));
    await vi.waitFor(async () => expect(await sender.pending()).toBe(0));
    const ids = new Set(receiver.received.map((w) => w.headers['x-latchkey-webhook-id']));
    expect(ids.size).toBe(1);
    expect(receiver.received.map((w) => w.headers['x-latchkey-webhook-attempt'])).toEqual(['1', '2', '3']);
    for (const webhook of receiver.received) {
      expect(verifyWebhookSignature(secret, webhook.raw, webhook.headers['x-nango-hmac-sha256'] as string)).toBe(true);
    }
    expect(lines.filter((line) => line.includes('will retry'))).toHaveLength(2);
    expect(lines.join('\n')).not.toContain(secret);
  });

  it('gives a webhook up after maxAttempts, and says so in the log', async () => {
    receiver.answer(() => 500);
    const { logger, lines } = captureLogs();
    const manager = testManager({ store: memoryStore(), integrations: keyed, logger, clock: Date.now });
    const sender = manager.startWebhooks({ url: receiver.url, secret, retry: { ...fast, maxAttempts: 3 } });
    await manager.create(apiKey('user-5'));
    await vi.waitFor(() => expect(lines.some((line) => line.includes('webhook dropped'))).toBe(true));
    expect(receiver.received).toHaveLength(3);
    expect(await sender.pending()).toBe(0);
  });

  it('survives a restart: written while the receiver is down, delivered by the next manager on the same SQLite file', async () => {
    const file = join(dir, 'store.sqlite');
    await receiver.close();
    const clock = testClock();
    const warnings: string[] = [];
    const logger = { warn: (message: string) => warnings.push(message), error: () => {} };
    const first = sqliteManager(file, { clock, logger });
    const sender = first.startWebhooks({ url: receiver.url, secret, retry: { initialDelayMs: 60_000 } });
    await first.create(apiKey('user-6'));
    // The entry exists before its first attempt: wait for the attempt itself to have failed.
    await vi.waitFor(() => expect(warnings).toContain('latchkey: webhook delivery failed; will retry'));
    expect(await sender.pending()).toBe(1);
    await first.close();
    expect(receiver.received).toHaveLength(0);

    await receiver.reopen();
    // The failed first attempt set the next one at most a minute later (the schedule is stored
    // with the entry): a minute on, the restarted sender finds it due.
    clock.advance(61_000);
    const second = sqliteManager(file, { clock });
    try {
      const restarted = second.startWebhooks({ url: receiver.url, secret });
      await vi.waitFor(() => expect(receiver.received).toHaveLength(1));
      await vi.waitFor(async () => expect(await restarted.pending()).toBe(0));
      expect(bodies()[0]).toMatchObject({ operation: 'creation', connectionId: 'user-6' });
      expect(receiver.received[0]!.headers['x-latchkey-webhook-attempt']).toBe('2');
    } finally {
      await second.close();
    }
  });

  it('two managers on one SQLite file deliver each pending webhook once between them', async () => {
    const file = join(dir, 'store.sqlite');
    await receiver.close();
    const clock = testClock();
    const writer = sqliteManager(file, { clock });
    const sender = writer.startWebhooks({ url: receiver.url, secret, retry: { initialDelayMs: 60_000 } });
    for (let i = 0; i < 6; i++) await writer.create(apiKey(`user-${i}`));
    await vi.waitFor(async () => expect(await sender.pending()).toBe(6));
    await writer.close();
    await receiver.reopen();
    receiver.delay(30); // slow enough that both first passes overlap
    clock.advance(61_000); // every entry's next attempt is due

    const a = sqliteManager(file, { clock });
    const b = sqliteManager(file, { clock });
    try {
      const senders = [a, b].map((manager) => manager.startWebhooks({ url: receiver.url, secret }));
      await vi.waitFor(async () => expect(await senders[0]!.pending()).toBe(0));
      const ids = receiver.received.map((w) => w.headers['x-latchkey-webhook-id']);
      expect(ids).toHaveLength(6);
      expect(new Set(ids).size).toBe(6);
      expect(new Set(bodies().map((body) => body.connectionId)).size).toBe(6);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('stop() abandons a delivery the receiver is holding, and the webhook stays in the outbox', async () => {
    receiver.delay(60_000);
    const file = join(dir, 'store.sqlite');
    const manager = sqliteManager(file);
    const sender = manager.startWebhooks({ url: receiver.url, secret });
    await manager.create(apiKey('user-7'));
    await vi.waitFor(() => expect(receiver.received).toHaveLength(1));
    await sender.stop();
    expect(sender.running).toBe(false);
    expect(await sender.pending()).toBe(1);
    await manager.close();
  });
});

describe('startWebhooks options', () => {
  it.each([
    [{ url: 'not a url', secret }, 'url'],
    [{ url: 'ftp://example.com/hook', secret }, 'url'],
    [{ url: 'https://example.com/hook', secret: 'short' }, 'secret'],
    [{ url: 'https://example.com/hook', secret, timeoutMs: 0 }, 'timeoutMs'],
    [{ url: 'https://example.com/hook', secret, retry: { maxAttempts: -1 } }, 'retry.maxAttempts'],
  ])('refuses %j naming the field', (options, field) => {
    const manager = testManager({ store: memoryStore(), integrations: keyed });
    const error = (() => {
      try {
        manager.startWebhooks(options as never);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).field).toBe(field);
    expect((error as Error).message).not.toContain(secret);
  });

  it('refuses a second sender while one runs', () => {
    const manager = testManager({ store: memoryStore(), integrations: keyed });
    manager.startWebhooks({ url: receiver.url, secret });
    expect(() => manager.startWebhooks({ url: receiver.url, secret })).toThrow(InvalidRequestError);
  });
});

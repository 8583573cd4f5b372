/**
 * Per-connection webhook URL from a connect session: `webhook_url_override` given when the
 * session is created goes onto the connection the session's credential route creates, and the
 * sender delivers that connection's webhooks — its creation webhook included — there, while
 * other connections' webhooks go to the sender's URL.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { createApiHandler } from '../../src/http.js';
import { serveOnLoopback } from '../support/api-server.js';
import { testManager } from '../support/manager.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('a connect session’s webhook_url_override', () => {
  it('goes onto the connection it creates, and that connection’s webhooks go there', async () => {
    const main = await startWebhookReceiver();
    const regional = await startWebhookReceiver('/eu-hooks');
    closers.push(main.close, regional.close);
    const manager = testManager({
      store: memoryStore(),
      integrations: { keys: { provider: 'any-api', definition: { authMode: 'API_KEY' } } },
    });
    const sender = manager.startWebhooks({ url: main.url, secret: 'webhook-secret-0123456789' });
    closers.push(() => sender.stop());
    const server = await serveOnLoopback(createApiHandler({ manager, apiKeys: [{ key: 'session-webhook-key-0123' }] }));
    closers.push(server.close);

    const { token } = await manager.connectSessions.create({
      end_user: { id: 'user-eu' },
      webhook_url_override: regional.url,
    });
    const response = await fetch(`${server.url}/api-auth/api-key/keys?connect_session_token=${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: 'sk-eu-key' }),
    });
    expect(response.status).toBe(200);
    const { connectionId } = (await response.json()) as { connectionId: string };
    await manager.create({
      connectionId: 'plain',
      providerConfigKey: 'keys',
      credentials: { type: 'API_KEY', apiKey: 'sk-plain' },
    });

    await vi.waitFor(() => expect(regional.received).toHaveLength(1));
    await vi.waitFor(() => expect(main.received).toHaveLength(1));
    expect(JSON.parse(regional.received[0]!.raw)).toMatchObject({ operation: 'creation', connectionId });
    expect(JSON.parse(main.received[0]!.raw)).toMatchObject({ operation: 'creation', connectionId: 'plain' });
  });

  it('a malformed override given to create is refused with a typed error naming it, and nothing is stored', async () => {
    const manager = testManager({
      store: memoryStore(),
      integrations: { keys: { provider: 'any-api', definition: { authMode: 'API_KEY' } } },
    });
    await expect(
      manager.create({
        connectionId: 'bad',
        providerConfigKey: 'keys',
        credentials: { type: 'API_KEY', apiKey: 'sk' },
        webhookUrlOverride: 'ftp://example.com/hooks',
      }),
    ).rejects.toMatchObject({ code: 'invalid_request', field: 'webhookUrlOverride' });
    expect((await manager.list()).connections).toEqual([]);
  });
});

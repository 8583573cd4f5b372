/**
 * The catalog's revocation specs (GitHub's grant deletion, Slack's auth.revoke, Google's revoke
 * endpoint) sent to local stand-ins that check the request shape — method, path, authentication,
 * body — as each provider documents it; and how failures are classified (passing: queued; final: not).
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  builtinProviders,
  type ConnectionEvents,
  type ConnectionManager,
  type RevocationSpec,
} from '../../src/index.js';
import { createApiHandler } from '../../src/http.js';
import { serveOnLoopback } from '../support/api-server.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';
import { testManager } from '../support/manager.js';

interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface StandIn {
  origin: string;
  seen: Seen[];
  answer(status: number, body?: unknown): void;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function standIn(): Promise<StandIn> {
  const seen: Seen[] = [];
  let reply: { status: number; body?: unknown } = { status: 200 };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      seen.push({
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      response.writeHead(reply.status, { 'content-type': 'application/json' });
      response.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    answer: (status, body) => {
      reply = { status, body };
    },
  };
}

/** The catalog's spec for `provider`, pointed at the stand-in (same path, method, auth and body). */
function localSpec(provider: string, origin: string): RevocationSpec {
  const spec = builtinProviders[provider]?.revocation;
  if (!spec) throw new Error(`${provider} has no revocation spec`);
  return {
    ...spec,
    url: origin + new URL(spec.url.replace('${clientId}', 'CLIENT')).pathname.replace('CLIENT', '${clientId}'),
  };
}

function managerFor(provider: string, origin: string): ConnectionManager {
  return testManager({
    revokeOnDelete: true,
    integrations: {
      [provider]: {
        provider,
        clientId: 'client id/1',
        clientSecret: 'client-secret',
        definition: { revocation: localSpec(provider, origin) },
      },
    },
  });
}

async function connectAndDelete(manager: ConnectionManager, provider: string, refresh = true) {
  await manager.create({
    connectionId: 'user-1',
    providerConfigKey: provider,
    credentials: {
      type: 'OAUTH2',
      access_token: 'access-token-1',
      ...(refresh && { refresh_token: 'refresh-token-1' }),
      expires_at: '2999-01-01T00:00:00Z',
    },
  });
  await manager.delete('user-1');
}

function recorded<E extends keyof ConnectionEvents>(manager: ConnectionManager, name: E): ConnectionEvents[E][] {
  const events: ConnectionEvents[E][] = [];
  manager.on(name, (event) => events.push(event));
  return events;
}

describe('catalog revocation specs', () => {
  it('GitHub: DELETE /applications/{client_id}/grant, Basic client auth, the access token in JSON', async () => {
    const github = await standIn();
    github.answer(204);
    const manager = managerFor('github', github.origin);
    const revoked = recorded(manager, 'connection.revoked');

    await connectAndDelete(manager, 'github');

    expect(github.seen).toHaveLength(1);
    const [request] = github.seen;
    expect(request?.method).toBe('DELETE');
    expect(request?.path).toBe('/applications/client%20id%2F1/grant');
    expect(request?.headers.authorization).toBe(
      `Basic ${Buffer.from('client+id%2F1:client-secret').toString('base64')}`,
    );
    expect(request?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request?.body ?? '')).toEqual({ access_token: 'access-token-1' });
    expect(revoked).toHaveLength(1);
  });

  it('GitHub: a 404 (the grant is already gone) counts as revoked', async () => {
    const github = await standIn();
    github.answer(404, { message: 'Not Found' });
    const manager = managerFor('github', github.origin);
    const revoked = recorded(manager, 'connection.revoked');
    await connectAndDelete(manager, 'github');
    expect(revoked).toHaveLength(1);
  });

  it('Slack: auth.revoke with the token as Bearer and no body; ok: false is a final failure', async () => {
    const slack = await standIn();
    slack.answer(200, { ok: true, revoked: true });
    const manager = managerFor('slack', slack.origin);
    const revoked = recorded(manager, 'connection.revoked');
    const failed = recorded(manager, 'revocation.failed');

    await connectAndDelete(manager, 'slack', false);

    expect(slack.seen).toHaveLength(1);
    expect(slack.seen[0]).toMatchObject({ method: 'POST', path: '/api/auth.revoke', body: '' });
    expect(slack.seen[0]?.headers.authorization).toBe('Bearer access-token-1');
    expect(revoked).toHaveLength(1);

    slack.answer(200, { ok: false, error: 'invalid_auth' });
    await connectAndDelete(manager, 'slack', false);
    expect(failed).toEqual([expect.objectContaining({ error: 'invalid_auth', kind: 'permanent', queued: false })]);
  });

  it('Google: a form POST of the refresh token, no client authentication, no type hint', async () => {
    const google = await standIn();
    const manager = managerFor('google', google.origin);
    const revoked = recorded(manager, 'connection.revoked');

    await connectAndDelete(manager, 'google');

    expect(google.seen).toHaveLength(1);
    expect(google.seen[0]).toMatchObject({ method: 'POST', path: '/revoke' });
    expect(google.seen[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(google.seen[0]?.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(new URLSearchParams(google.seen[0]?.body))).toEqual({ token: 'refresh-token-1' });
    expect(revoked).toHaveLength(1);
  });

  it('a 503 is queued for a retry; a 400 is final and queues nothing', async () => {
    const google = await standIn();
    google.answer(503);
    const manager = managerFor('google', google.origin);
    const failed = recorded(manager, 'revocation.failed');
    await connectAndDelete(manager, 'google');
    google.answer(400, { error: 'invalid_request' });
    await connectAndDelete(manager, 'google');

    expect(failed).toEqual([
      expect.objectContaining({ error: 'server_error', kind: 'transient', status: 503, queued: true }),
      expect.objectContaining({ error: 'invalid_request', kind: 'permanent', status: 400, queued: false }),
    ]);
    // What a failure reports never carries a token.
    expect(JSON.stringify(failed)).not.toMatch(/access-token-1|refresh-token-1|client-secret/);
  });

  it('Microsoft declares no revocation: delete sends nothing and reports nothing', async () => {
    expect(builtinProviders.microsoft?.revocation).toBeUndefined();
    const manager = testManager({
      revokeOnDelete: true,
      integrations: { microsoft: { provider: 'microsoft', clientId: 'id', clientSecret: 'secret' } },
    });
    const events = [recorded(manager, 'connection.revoked'), recorded(manager, 'revocation.failed')];
    await connectAndDelete(manager, 'microsoft');
    expect(events.flat()).toEqual([]);
  });

  it('DELETE /connections/:id revokes; revoke=false keeps the grant; a bad value is refused and deletes nothing', async () => {
    const google = await standIn();
    const manager = managerFor('google', google.origin);
    const key = 'lifecycle-test-key-0123456789';
    const api = await serveOnLoopback(createApiHandler({ manager, apiKeys: [{ key }] }));
    const remove = (id: string, query: string) =>
      fetch(`${api.url}/connections/${id}?provider_config_key=google${query}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${key}` },
      });
    try {
      for (const id of ['a', 'b', 'c']) {
        await manager.create({
          connectionId: id,
          providerConfigKey: 'google',
          credentials: { type: 'OAUTH2', access_token: `access-${id}`, refresh_token: `refresh-${id}` },
        });
      }
      expect((await remove('a', '')).status).toBe(200);
      expect((await remove('b', '&revoke=false')).status).toBe(200);
      const refused = await remove('c', '&revoke=maybe');
      expect(refused.status).toBe(400);
      expect(await refused.text()).toContain('revoke');
      await expect(manager.describe('c')).resolves.toMatchObject({ connection_id: 'c' });

      expect(google.seen.map((request) => new URLSearchParams(request.body).get('token'))).toEqual(['refresh-a']);
    } finally {
      await api.close();
    }
  });

  it('the outcome goes out as a webhook: revocation, successful or not, and whether it is retried', async () => {
    const google = await standIn();
    const receiver = await startWebhookReceiver();
    const manager = managerFor('google', google.origin);
    const sender = manager.startWebhooks({ url: receiver.url, secret: 'webhook-secret-0123456789' });
    try {
      await connectAndDelete(manager, 'google');
      google.answer(503);
      await connectAndDelete(manager, 'google');
      // Two creations, two revocations.
      await vi.waitFor(() => expect(receiver.received).toHaveLength(4));
      const bodies = receiver.received
        .map((webhook) => JSON.parse(webhook.raw) as Record<string, unknown>)
        .filter((body) => body.operation !== 'creation');
      expect(bodies).toEqual([
        expect.objectContaining({ type: 'auth', operation: 'revocation', success: true, connectionId: 'user-1' }),
        expect.objectContaining({
          operation: 'revocation',
          success: false,
          error: { type: 'server_error', description: expect.stringContaining('It will be retried') },
        }),
      ]);
      expect(receiver.received.map((webhook) => webhook.raw).join()).not.toMatch(/access-token-1|refresh-token-1/);
    } finally {
      await sender.stop();
      await receiver.close();
    }
  });

  it('a custom provider declaring a malformed spec or lifetime is refused when the manager is built, naming the field', () => {
    const build = (definition: Record<string, unknown>) => () =>
      testManager({
        integrations: {
          custom: {
            provider: 'custom',
            clientId: 'id',
            clientSecret: 'secret',
            definition: { authMode: 'OAUTH2', tokenUrl: 'https://auth.example.com/token', ...definition },
          },
        },
      });
    expect(build({ revocation: { url: 'https://auth.example.com/revoke', method: 'PUT' } })).toThrow(
      expect.objectContaining({ code: 'invalid_integration', field: 'definition.revocation.method' }),
    );
    expect(build({ revocation: { url: 'not a url' } })).toThrow(
      expect.objectContaining({ field: 'definition.revocation.url' }),
    );
    expect(build({ refreshTokenIdleLifetimeDays: '90' })).toThrow(
      expect.objectContaining({ field: 'definition.refreshTokenIdleLifetimeDays' }),
    );
    expect(build({ introspection: { url: 'https://auth.example.com/introspect' } })).not.toThrow();
  });
});

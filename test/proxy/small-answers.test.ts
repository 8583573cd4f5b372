import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createApiHandler } from '../../src/http.js';
import { StreamResponse } from '../../src/provider-http/stream-response.js';
import { testManager } from '../support/manager.js';
import { serveOnLoopback } from '../support/api-server.js';
import { testScope } from '../support/scope.js';

/**
 * `/proxy/*` writes a provider's small answer of declared length with its head in one go, and
 * relays the provider's `Response` itself rather than a copy: what that path must keep of the
 * streamed one (a cut-off answer stays cut off, a client that leaves stops the provider's answer,
 * the provider's URL and hop-by-hop headers stay behind).
 */
const { defer } = testScope();
const KEY = 'small-answers-test-key-0123456789ab';
const TOKEN = 'provider-token-small';

async function startProvider(handle: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function proxyTo(providerUrl: string) {
  const manager = testManager({
    integrations: { crm: { provider: 'crm', definition: { authMode: 'API_KEY', proxy: { baseUrl: providerUrl } } } },
  });
  await manager.upsert({
    connectionId: 'c1',
    providerConfigKey: 'crm',
    credentials: { type: 'API_KEY', apiKey: TOKEN },
  });
  const server = await serveOnLoopback(createApiHandler({ manager, apiKeys: [{ key: KEY }] }));
  defer(() => server.close());
  return (path: string, signal?: AbortSignal) =>
    fetch(`${server.url}/proxy${path}`, {
      ...(signal ? { signal } : {}),
      headers: { authorization: `Bearer ${KEY}`, 'connection-id': 'c1', 'provider-config-key': 'crm' },
    });
}

describe('small proxied answers', () => {
  it('arrive whole with the provider’s status, headers and length, without its hop-by-hop headers', async () => {
    const body = JSON.stringify({ id: 1, items: 'x'.repeat(2000) });
    const get = await proxyTo(
      await startProvider((_req, res) =>
        res
          .writeHead(201, 'Made', {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'x-request-id': 'r-1',
            'proxy-authenticate': 'Basic',
          })
          .end(body),
      ),
    );
    const response = await get('/items');
    expect(response.status).toBe(201);
    expect(response.statusText).toBe('Made');
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    expect(response.headers.get('x-request-id')).toBe('r-1');
    expect(response.headers.get('proxy-authenticate')).toBeNull();
    expect(await response.text()).toBe(body);
  });

  it('is cut off, not completed, when the provider’s connection drops before the declared length', async () => {
    const get = await proxyTo(
      await startProvider((req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"partial":', () => req.socket.destroy());
      }),
    );
    const failed = get('/cut').then((response) => response.text());
    await expect(failed).rejects.toThrow();
  });

  it('stops the provider’s answer when the client leaves before it is complete', async () => {
    let providerWrote!: () => void;
    const wrote = new Promise<void>((resolve) => (providerWrote = resolve));
    let providerSawClose!: () => void;
    const closed = new Promise<void>((resolve) => (providerSawClose = resolve));
    const get = await proxyTo(
      await startProvider((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        // Never completes on its own: only the proxy dropping the request closes it.
        res.write('{"slow":', () => providerWrote());
        res.once('close', () => providerSawClose());
      }),
    );
    const controller = new AbortController();
    const answered = get('/slow', controller.signal).catch((error: unknown) => error);
    await wrote;
    controller.abort();
    await closed;
    expect(await answered).toBeInstanceOf(Error);
  });
});

describe('StreamResponse.relay', () => {
  const answer = () =>
    new StreamResponse(
      Readable.from([Buffer.from('{}')]),
      { status: 200, statusText: 'OK', headers: ['content-type', 'application/json', 'connection', 'close'] },
      'https://api.example.com/items?api_key=secret',
    );

  it('keeps the headers it is told to, and drops the provider’s URL', async () => {
    const response = answer();
    expect(response.relay((name) => name !== 'connection')).toBe(true);
    expect(response.url).toBe('');
    expect([...response.headers]).toEqual([['content-type', 'application/json']]);
    expect(await response.text()).toBe('{}');
  });

  it('changes nothing once the body was read', async () => {
    const response = answer();
    await response.text();
    expect(response.relay(() => false)).toBe(false);
    expect(response.url).toBe('https://api.example.com/items?api_key=secret');
    expect(response.headers.get('connection')).toBe('close');
  });
});

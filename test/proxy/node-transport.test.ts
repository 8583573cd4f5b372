import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { type AddressInfo, createServer as createTcpServer, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import selfsigned from 'selfsigned';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../src/http.js';
import { setEgressResolverForTests } from '../../src/provider-http/egress.js';
import { testManager } from '../support/manager.js';
import { serveOnLoopback } from '../support/api-server.js';
import { testScope } from '../support/scope.js';

/**
 * The transport under `manager.fetch` and `/proxy/*` (`node:http` on keep-alive agents): where
 * its sockets go, what it keeps of the provider's answer, and what it stops when the client goes.
 */
const { defer } = testScope();
const KEY = 'transport-test-key-0123456789abcdef';
const TOKEN = 'provider-token-abc';

afterEach(() => setEgressResolverForTests(undefined));

/** A provider API on loopback counting its TCP connections. */
async function startProvider(handle: (req: IncomingMessage, res: ServerResponse) => void) {
  let connections = 0;
  const server = createServer(handle);
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

async function proxyTo(providerUrl: string) {
  const manager = testManager({
    integrations: { crm: { provider: 'crm', definition: { authMode: 'API_KEY', proxy: { baseUrl: providerUrl } } } },
  });
  await manager.upsert({ connectionId: 'c1', providerConfigKey: 'crm', credentials: { type: 'API_KEY', apiKey: TOKEN } });
  const server = await serveOnLoopback(createApiHandler({ manager, apiKeys: [{ key: KEY }] }));
  defer(() => server.close());
  const get = (path: string) =>
    fetch(`${server.url}/proxy${path}`, {
      headers: { authorization: `Bearer ${KEY}`, 'connection-id': 'c1', 'provider-config-key': 'crm' },
    });
  return { manager, url: server.url, get };
}

describe('the provider transport', () => {
  it('connects to the address the egress policy resolved and approved, under the name it checked', async () => {
    const pem = await selfsigned.generate([{ name: 'commonName', value: 'looks-public.example' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'looks-public.example' }] }],
    });
    const seen: Array<string | undefined> = [];
    const server = createTlsServer({ key: pem.private, cert: pem.cert }, (req, res) => {
      seen.push(req.headers.host);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"pinned":true}');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    defer(() => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const port = (server.address() as AddressInfo).port;
    // The name exists nowhere but in this resolver: an answer proves the socket went where it said.
    const asked: string[] = [];
    setEgressResolverForTests(async (hostname) => {
      asked.push(hostname);
      return [{ address: '127.0.0.1', family: 4 }];
    });
    const manager = testManager({
      http: { allowInsecureLoopback: true, trustedCertificates: [pem.cert] },
      integrations: {
        crm: { provider: 'crm', definition: { authMode: 'API_KEY', proxy: { baseUrl: 'https://api.crm.example' } } },
      },
    });
    await manager.upsert({ connectionId: 'c1', providerConfigKey: 'crm', credentials: { type: 'API_KEY', apiKey: 'k' } });
    const response = await manager.fetch({ connectionId: 'c1', providerConfigKey: 'crm' }, '/x', {
      baseUrlOverride: `https://looks-public.example:${port}`,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ pinned: true });
    expect(asked).toEqual(['looks-public.example']);
    expect(seen).toEqual([`looks-public.example:${port}`]);
  });

  it('keeps one connection to the provider alive across proxied requests', async () => {
    const provider = await startProvider((_req, res) => res.writeHead(200).end('ok'));
    const { get } = await proxyTo(provider.url);
    for (let index = 0; index < 5; index++) {
      const response = await get('/x');
      expect(await response.text()).toBe('ok');
    }
    expect(provider.connections()).toBe(1);
  });

  it('sends again on a new connection when a kept-alive one turns out closed by the provider', async () => {
    // The provider answers once per connection and closes one when a second request arrives on
    // it: what a server whose keep-alive expired as the request was sent does.
    let connections = 0;
    const sockets = new Set<Socket>();
    const server = createTcpServer((socket) => {
      connections++;
      sockets.add(socket);
      let requests = 0;
      socket.on('data', (data) => {
        if (!data.toString('latin1').includes('\r\n\r\n')) return;
        if (++requests > 1) return void socket.destroy();
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    defer(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const { manager } = await proxyTo(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const ref = { connectionId: 'c1', providerConfigKey: 'crm' };
    expect(await (await manager.fetch(ref, '/a')).text()).toBe('ok');
    expect(await (await manager.fetch(ref, '/b')).text()).toBe('ok');
    expect(connections).toBe(2);
  });

  it('passes the provider’s Content-Length back when the body is passed as it is', async () => {
    const body = JSON.stringify({ id: 1, name: 'Ada' });
    const provider = await startProvider((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body),
    );
    const { get } = await proxyTo(provider.url);
    const response = await get('/contacts/1');
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    expect(response.headers.get('transfer-encoding')).toBeNull();
    expect(await response.text()).toBe(body);
  });

  it('decodes a gzip answer, for the proxy’s client and for manager.fetch', async () => {
    const text = 'compressed '.repeat(1000);
    const asked: Array<string | undefined> = [];
    const provider = await startProvider((req, res) => {
      asked.push(req.headers['accept-encoding']);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' }).end(gzipSync(text));
    });
    const { get, manager } = await proxyTo(provider.url);
    const proxied = await get('/text');
    expect(proxied.headers.get('content-encoding')).toBeNull();
    expect(await proxied.text()).toBe(text);
    const direct = await manager.fetch({ connectionId: 'c1', providerConfigKey: 'crm' }, '/text');
    expect(await direct.text()).toBe(text);
    // As fetch asked before: compression on the provider's leg, decoded here.
    expect(asked).toEqual(['gzip, deflate', 'gzip, deflate']);
  });

  it('stops the provider’s answer when the proxy’s client goes away mid-download', async () => {
    let providerSawClose!: () => void;
    const closed = new Promise<void>((resolve) => (providerSawClose = resolve));
    const provider = await startProvider((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(64 * 1024, 1));
      // Never ends on its own: only the proxy dropping the request closes it.
      res.once('close', () => providerSawClose());
    });
    const { url } = await proxyTo(provider.url);
    const controller = new AbortController();
    const response = await fetch(`${url}/proxy/big`, {
      signal: controller.signal,
      headers: { authorization: `Bearer ${KEY}`, 'connection-id': 'c1', 'provider-config-key': 'crm' },
    });
    const reader = response.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    controller.abort();
    await closed;
    expect(provider.connections()).toBe(1);
  });
});

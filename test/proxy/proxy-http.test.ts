import { once } from 'node:events';
import { createServer, type IncomingMessage, request as httpRequest, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Nango } from '@nangohq/node';
import { describe, expect, it } from 'vitest';
import { createApiHandler } from '../../src/http.js';
import { testManager } from '../support/manager.js';
import { serveOnLoopback } from '../support/api-server.js';
import { testScope } from '../support/scope.js';

const { defer } = testScope();
const KEY = 'proxy-test-key-0123456789abcdef';
const TOKEN = 'provider-token-abc';
const MB = 1024 * 1024;

/** A provider API on loopback that answers 401 unless the bearer token is the connection's. */
async function startProvider(handle: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>) {
  const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers'] }> = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    }
    void handle(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

async function startLatchkey(providerUrl: string, retry?: { after?: string[] }) {
  const manager = testManager({
    integrations: {
      crm: {
        provider: 'crm',
        definition: { authMode: 'API_KEY', proxy: { baseUrl: `${providerUrl}/v1`, ...(retry && { retry }) } },
      },
    },
  });
  await manager.upsert({
    connectionId: 'c1',
    providerConfigKey: 'crm',
    credentials: { type: 'API_KEY', apiKey: TOKEN },
  });
  const server = await serveOnLoopback(createApiHandler({ manager, apiKeys: [{ key: KEY }] }));
  defer(() => server.close());
  const nango = new Nango({ host: server.url, secretKey: KEY });
  return { manager, url: server.url, nango };
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('/proxy/* with @nangohq/node', () => {
  it('GETs and POSTs JSON with the connection’s token, passing Nango-Proxy-* headers and the query', async () => {
    const provider = await startProvider(async (req, res) => {
      const body = await readAll(req);
      res
        .writeHead(200, { 'content-type': 'application/json', 'x-provider': 'yes' })
        .end(
          JSON.stringify({ method: req.method, url: req.url, got: body.length ? JSON.parse(body.toString()) : null }),
        );
    });
    const { nango } = await startLatchkey(provider.url);
    const got = await nango.get({
      endpoint: '/contacts',
      connectionId: 'c1',
      providerConfigKey: 'crm',
      params: { limit: '10' },
      headers: { 'X-Trace': 'abc' },
    });
    expect(got.status).toBe(200);
    expect(got.data).toEqual({ method: 'GET', url: '/v1/contacts?limit=10', got: null });
    expect(got.headers['x-provider']).toBe('yes');
    expect(provider.seen[0]!.headers['x-trace']).toBe('abc');
    const posted = await nango.post({
      endpoint: '/contacts',
      connectionId: 'c1',
      providerConfigKey: 'crm',
      data: { name: 'Ada' },
    });
    expect(posted.data).toEqual({ method: 'POST', url: '/v1/contacts', got: { name: 'Ada' } });
  });

  it('downloads and uploads 20 MB through the SDK', async () => {
    const blob = Buffer.alloc(20 * MB, 7);
    const provider = await startProvider(async (req, res) => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(blob);
        return;
      }
      const body = await readAll(req);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes: body.length }));
    });
    const { nango } = await startLatchkey(provider.url);
    const down = await nango.proxy({
      method: 'GET',
      endpoint: '/file',
      connectionId: 'c1',
      providerConfigKey: 'crm',
      responseType: 'arraybuffer',
    });
    expect(Buffer.from(down.data as ArrayBuffer).equals(blob)).toBe(true);
    const up = await nango.proxy({
      method: 'PUT',
      endpoint: '/file',
      connectionId: 'c1',
      providerConfigKey: 'crm',
      data: blob,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(up.data).toEqual({ bytes: 20 * MB });
  });

  it('streams an upload: the provider has the first bytes before the client sent the rest', async () => {
    let firstBytes!: () => void;
    const providerHasFirstBytes = new Promise<void>((resolve) => (firstBytes = resolve));
    const provider = await startProvider(async (req, res) => {
      let total = 0;
      for await (const chunk of req) {
        if (total === 0) firstBytes();
        total += (chunk as Buffer).length;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes: total }));
    });
    const { url } = await startLatchkey(provider.url);
    const target = new URL(`${url}/proxy/upload`);
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        target,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${KEY}`,
            'connection-id': 'c1',
            'provider-config-key': 'crm',
            'content-type': 'application/octet-stream',
            'content-length': String(20 * MB),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        },
      );
      req.on('error', reject);
      req.write(Buffer.alloc(MB, 1));
      // The other 19 MB go only once the provider has the first: a server that gathered the
      // whole upload before forwarding it would never get here.
      void providerHasFirstBytes.then(() => req.end(Buffer.alloc(19 * MB, 2)));
    });
    const { status, body } = await answer;
    expect(status).toBe(200);
    expect(JSON.parse(body)).toEqual({ bytes: 20 * MB });
  });

  it('streams a download: the client has the first bytes before the provider sent the rest', async () => {
    let clientGotBytes!: () => void;
    const clientHasFirstBytes = new Promise<void>((resolve) => (clientGotBytes = resolve));
    const provider = await startProvider(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(MB, 1));
      await clientHasFirstBytes;
      res.end(Buffer.alloc(19 * MB, 2));
    });
    const { url } = await startLatchkey(provider.url);
    const response = await fetch(`${url}/proxy/download`, {
      headers: { authorization: `Bearer ${KEY}`, 'connection-id': 'c1', 'provider-config-key': 'crm' },
    });
    expect(response.status).toBe(200);
    let total = 0;
    for await (const chunk of response.body! as unknown as AsyncIterable<Uint8Array>) {
      if (total === 0) clientGotBytes();
      total += chunk.length;
    }
    expect(total).toBe(20 * MB);
  });

  it('refuses a key without environment:proxy, and bad headers without reaching the provider', async () => {
    const provider = await startProvider((_req, res) => void res.writeHead(200).end('{}'));
    const manager = testManager({
      integrations: { crm: { provider: 'crm', definition: { authMode: 'API_KEY', proxy: { baseUrl: provider.url } } } },
    });
    await manager.upsert({
      connectionId: 'c1',
      providerConfigKey: 'crm',
      credentials: { type: 'API_KEY', apiKey: TOKEN },
    });
    const readOnly = 'read-only-key-0123456789abcdef';
    const server = await serveOnLoopback(
      createApiHandler({
        manager,
        apiKeys: [{ key: KEY }, { key: readOnly, scopes: ['environment:connections:read'] }],
      }),
    );
    defer(() => server.close());
    const headers = { 'connection-id': 'c1', 'provider-config-key': 'crm' };
    const forbidden = await fetch(`${server.url}/proxy/x`, {
      headers: { ...headers, authorization: `Bearer ${readOnly}` },
    });
    expect(forbidden.status).toBe(403);
    const badRetries = await fetch(`${server.url}/proxy/x`, {
      headers: { ...headers, authorization: `Bearer ${KEY}`, retries: 'many' },
    });
    expect(badRetries.status).toBe(400);
    expect(((await badRetries.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'invalid_headers',
      message: expect.stringContaining('retries'),
    });
    const noConnection = await fetch(`${server.url}/proxy/x`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(noConnection.status).toBe(400);
    expect(provider.seen).toHaveLength(0);
  });
});

describe('/proxy/* retries', () => {
  it('retries a 429 after Retry-After, and after the provider’s own declared header', async () => {
    let calls = 0;
    const provider = await startProvider((_req, res) => {
      calls++;
      if (calls === 1) res.writeHead(429, { 'retry-after': '1' }).end();
      else if (calls === 2) res.writeHead(429, { 'x-wait-seconds': '0.2' }).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    const { nango } = await startLatchkey(provider.url, { after: ['x-wait-seconds'] });
    const answer = await nango.get({ endpoint: '/x', connectionId: 'c1', providerConfigKey: 'crm', retries: 3 });
    expect(answer.data).toEqual({ ok: true });
    expect(calls).toBe(3);
  });

  it('sends nothing again without Retries, and a POST on 500 only when Retry-On lists it', async () => {
    let calls = 0;
    const provider = await startProvider((req, res) => {
      calls++;
      void readAll(req).then(() => {
        if (calls % 2 === 1) res.writeHead(500).end();
        else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    const { url } = await startLatchkey(provider.url);
    const send = (headers: Record<string, string>) =>
      fetch(`${url}/proxy/x`, {
        method: 'POST',
        body: '{}',
        headers: {
          authorization: `Bearer ${KEY}`,
          'connection-id': 'c1',
          'provider-config-key': 'crm',
          'content-type': 'application/json',
          ...headers,
        },
      });
    expect((await send({})).status).toBe(500);
    expect(calls).toBe(1);
    calls = 0;
    expect((await send({ retries: '2' })).status).toBe(500);
    expect(calls).toBe(1);
    calls = 0;
    expect((await send({ retries: '2', 'retry-on': '500' })).status).toBe(200);
    expect(calls).toBe(2);
  });
});

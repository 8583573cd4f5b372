import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, request as httpRequest, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createApiHandler } from '../../src/http.js';
import { NodeBodyStream, nodeStreamOf } from '../../src/provider-http/node-body.js';
import { send } from '../../src/provider-http/node-transport.js';
import type { ProxyInit } from '../../src/proxy/proxy-request.js';
import { testManager } from '../support/manager.js';
import { serveOnLoopback } from '../support/api-server.js';
import { testScope } from '../support/scope.js';

/**
 * Large bodies through `/proxy/*` on the Node listener: an upload goes to the provider as the
 * Node stream it came as (no web stream in between), and a socket carrying a request has no idle
 * timer to re-arm on every chunk.
 */
const { defer } = testScope();
const KEY = 'streamed-bodies-key-0123456789abcdef';
const TOKEN = 'provider-token-abc';
const MB = 1024 * 1024;

async function startProvider(handle: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401).end();
      return;
    }
    handle(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function startLatchkey(providerUrl: string) {
  const manager = testManager({
    integrations: { crm: { provider: 'crm', definition: { authMode: 'API_KEY', proxy: { baseUrl: providerUrl } } } },
  });
  await manager.upsert({
    connectionId: 'c1',
    providerConfigKey: 'crm',
    credentials: { type: 'API_KEY', apiKey: TOKEN },
  });
  // Every body the route hands to `manager.fetch`, which still sends it.
  const bodies: ProxyInit['body'][] = [];
  const fetchOf = manager.fetch.bind(manager);
  manager.fetch = (ref, path, init) => {
    bodies.push(init?.body);
    return fetchOf(ref, path, init);
  };
  const server = await serveOnLoopback(createApiHandler({ manager, apiKeys: [{ key: KEY }] }));
  defer(() => server.close());
  return { url: server.url, bodies };
}

/** A chunked upload of `chunks` through the proxy; the client's request, and its answer's text. */
function upload(url: string, chunks: Buffer[]) {
  const req = httpRequest(`${url}/proxy/upload`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${KEY}`,
      'connection-id': 'c1',
      'provider-config-key': 'crm',
      'content-type': 'application/octet-stream',
      'transfer-encoding': 'chunked',
    },
  });
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.once('response', (res: IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.once('error', reject);
  });
  for (const chunk of chunks) req.write(chunk);
  return { req, answer };
}

const digest = (chunks: Buffer[]) => {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
};

describe('streamed bodies through /proxy/*', () => {
  it('sends a chunked upload to the provider as the Node stream it came as, every byte in order', async () => {
    const providerUrl = await startProvider((req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
      });
      req.once('end', () => res.writeHead(200).end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
    });
    const { url, bodies } = await startLatchkey(providerUrl);
    const chunks = Array.from({ length: 48 }, (_, index) => Buffer.alloc(64 * 1024 + index, index));
    const { req, answer } = upload(url, chunks);
    req.end();
    const { status, text } = await answer;
    expect(status).toBe(200);
    expect(JSON.parse(text)).toEqual({
      bytes: chunks.reduce((sum, chunk) => sum + chunk.length, 0),
      sha256: digest(chunks),
    });
    // What reached manager.fetch wraps the client's stream; the transport took that stream back.
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toBeInstanceOf(NodeBodyStream);
    expect(nodeStreamOf(bodies[0] as ReadableStream<Uint8Array>)).toBeUndefined();
  });

  it('cuts the provider’s request short when the client leaves mid-upload', async () => {
    let gotFirst!: () => void;
    const first = new Promise<void>((resolve) => (gotFirst = resolve));
    let providerSaw!: (outcome: { complete: boolean; bytes: number }) => void;
    const outcome = new Promise<{ complete: boolean; bytes: number }>((resolve) => (providerSaw = resolve));
    const providerUrl = await startProvider((req) => {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        gotFirst();
      });
      req.on('error', () => {});
      req.once('close', () => providerSaw({ complete: req.complete, bytes }));
    });
    const { url } = await startLatchkey(providerUrl);
    const { req, answer } = upload(url, [Buffer.alloc(MB, 1)]);
    answer.catch(() => {});
    await first;
    req.destroy();
    const seen = await outcome;
    expect(seen.complete).toBe(false);
    expect(seen.bytes).toBeLessThanOrEqual(MB);
  });

  it('keeps no idle timer on a socket while it carries a request, and gives it back to the pool with one', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const providerUrl = await startProvider((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(64 * 1024, 1));
      void released.then(() => res.end(Buffer.alloc(64 * 1024, 2)));
    });
    const answer = await send(
      new URL(`${providerUrl}/download`),
      { method: 'GET', headers: new Headers({ authorization: `Bearer ${TOKEN}` }) },
      {},
    );
    const body = answer.body as IncomingMessage;
    const socket = body.socket;
    // Streaming: the agent's idle timeout would be re-armed on every chunk read.
    expect(socket.timeout).toBe(0);
    release();
    let bytes = 0;
    for await (const chunk of body) bytes += (chunk as Buffer).length;
    expect(bytes).toBe(128 * 1024);
    // Back in the pool (on a later tick), the agent's idle timeout closes it if nobody reuses it.
    const deadline = Date.now() + 5_000;
    while (socket.timeout === 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    expect(socket.timeout).toBe(4_000);
  });
});

describe('NodeBodyStream', () => {
  it('is a web stream of the same bytes when something reads it, and then gives no Node stream', async () => {
    const node = Readable.from([Buffer.from('hello '), Buffer.from('world')]);
    const body = new NodeBodyStream(node);
    expect(await new Response(body).text()).toBe('hello world');
    expect(nodeStreamOf(body)).toBeUndefined();
  });

  it('gives its Node stream once, untouched, when nothing read it', () => {
    const node = Readable.from([Buffer.from('x')]);
    const body = new NodeBodyStream(node);
    expect(nodeStreamOf(body)).toBe(node);
    expect(nodeStreamOf(body)).toBeUndefined();
    expect(nodeStreamOf(new ReadableStream<Uint8Array>())).toBeUndefined();
  });

  it('destroys its Node stream when cancelled before any read', async () => {
    const node = new Readable({ read() {} });
    const body = new NodeBodyStream(node);
    await body.cancel();
    expect(node.destroyed).toBe(true);
  });
});

/**
 * A client that drops mid-body is the client's doing: before, the failed body read reached the
 * API's catch-all and was answered 500 with an error log (`request failed`, no detail) for every
 * dropped upload. Now the request's signal aborts when the connection closes before the request is
 * complete, and the handler answers nobody and logs nothing.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { createApiHandler, toNodeListener } from '../../src/http.js';
import { captureLogs } from '../support/logs.js';
import { testManager } from '../support/manager.js';

const KEY = 'client-abort-key-0123456789';

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers) await close();
  closers = [];
});

async function setUp() {
  const manager = testManager({
    store: memoryStore(),
    integrations: { github: { provider: 'github', clientId: 'id', clientSecret: 'client-secret-value' } },
  });
  // Every level the handler could log at, with the level kept.
  const { logger, lines } = captureLogs();
  const api = createApiHandler({ manager, apiKeys: [{ key: KEY }], logger });
  const started: Request[] = [];
  const answered: number[] = [];
  const server = createServer(
    toNodeListener(async (request) => {
      started.push(request);
      const response = await api(request);
      answered.push(response.status);
      return response;
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { manager, lines, started, answered, port };
}

describe('a client that drops mid-body', () => {
  it('is not a server failure: no 500, nothing logged, the server keeps serving', async () => {
    const { manager, lines, started, answered, port } = await setUp();
    const body = JSON.stringify({
      connection_id: 'half',
      provider_config_key: 'github',
      credentials: { type: 'OAUTH2', access_token: 'half-sent-token' },
    });
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      [
        'POST /connections HTTP/1.1',
        `Host: 127.0.0.1:${port}`,
        `Authorization: Bearer ${KEY}`,
        'Content-Type: application/json',
        `Content-Length: ${body.length}`,
        '',
        body.slice(0, body.length / 2),
      ].join('\r\n'),
    );
    // The handler is reading the body when the client goes away.
    await expect.poll(() => started.length).toBe(1);
    socket.destroy();
    await expect.poll(() => answered.length).toBe(1);
    expect(answered[0]).toBeLessThan(500);
    expect(lines).toEqual([]);
    expect(started[0]!.signal.aborted).toBe(true);
    expect((await manager.list()).connections).toEqual([]);
    // The next client is served as usual.
    const next = await fetch(`http://127.0.0.1:${port}/connections`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(next.status).toBe(200);
  });

  it('a body the server itself stops reading (over the limit) is still a 413, not a client abort', async () => {
    const { answered, port, lines } = await setUp();
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    let text = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => (text += chunk));
    socket.write(
      [
        'POST /connections HTTP/1.1',
        `Host: 127.0.0.1:${port}`,
        `Authorization: Bearer ${KEY}`,
        'Content-Type: application/json',
        'Transfer-Encoding: chunked',
        '',
        '',
      ].join('\r\n'),
    );
    const chunk = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 6; i++) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    await expect.poll(() => answered.length).toBe(1);
    expect(answered[0]).toBe(413);
    await expect.poll(() => text).toMatch(/^HTTP\/1\.1 413/);
    socket.destroy();
    expect(lines).toEqual([]);
  });
});

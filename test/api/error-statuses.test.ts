/**
 * Every typed error answers through the error table with its own status and code: before, an
 * `invalid_client` (IntegrationError), a missing template value, a disallowed host and a
 * decryption failure all answered 500 `server_error` with an error log per request; a provider
 * that could not be reached answered 400 "The provider refused the refresh (network_error)"; a
 * client that hung up mid-body was logged as a server failure.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { createApiHandler } from '../../src/http.js';
import type { ConnectionManager, IntegrationConfig } from '../../src/index.js';
import { serveOnLoopback } from '../support/api-server.js';
import { freePort } from '../support/free-port.js';
import { captureLogs } from '../support/logs.js';
import { testManager } from '../support/manager.js';
import { startTokenServer } from '../support/token-server.js';

const KEY = 'full-access-key-0123456789';
const OAUTH = { type: 'OAUTH2', access_token: 'a', refresh_token: 'r', expires_at: '2999-01-01T00:00:00Z' } as const;

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.reverse()) await close();
  closers = [];
});

async function serve(manager: ConnectionManager) {
  const logs = captureLogs();
  const server = await serveOnLoopback(createApiHandler({ manager, apiKeys: [{ key: KEY }], logger: logs.logger }));
  closers.push(server.close);
  const call = async (path: string) => {
    const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${KEY}` } });
    return { status: response.status, headers: response.headers, body: JSON.parse(await response.text()) };
  };
  return { call, logs };
}

async function withIntegration(integration: IntegrationConfig, connectionConfig?: Record<string, string>) {
  const manager = testManager({ store: memoryStore(), integrations: { x: integration } });
  await manager.create({
    connectionId: 'c',
    providerConfigKey: 'x',
    credentials: OAUTH,
    ...(connectionConfig ? { connectionConfig } : {}),
  });
  return manager;
}

const GET_FORCED = '/connection/c?provider_config_key=x&force_refresh=true';
const errorLines = (lines: string[]) => lines.filter((line) => line.startsWith('error '));

describe('typed errors through the HTTP API', () => {
  it('invalid_client: 424 integration_error with the log_id the refresher recorded, no API error log', async () => {
    const server = await startTokenServer();
    closers.push(server.close);
    // A wrong secret: the token server answers 401 invalid_client.
    const manager = await withIntegration({
      provider: 'p',
      clientId: server.clientId,
      clientSecret: 'wrong-secret',
      definition: { authMode: 'OAUTH2', tokenUrl: server.url },
    });
    const { call, logs } = await serve(manager);
    const answer = await call(GET_FORCED);
    expect(answer.status).toBe(424);
    expect(answer.body.error).toMatchObject({ code: 'integration_error', log_id: expect.any(String) });
    expect(logs.lines.join('\n')).not.toContain('latchkey api: request failed');
  });

  it('a missing template value: 400 missing_template_value naming the path', async () => {
    const manager = await withIntegration({
      provider: 'p',
      clientId: 'id',
      clientSecret: 's',
      definition: { authMode: 'OAUTH2', tokenUrl: 'https://${connectionConfig.tenant}.example.com/token' },
    });
    const { call, logs } = await serve(manager);
    const answer = await call(GET_FORCED);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'missing_template_value', path: 'connectionConfig.tenant' });
    expect(errorLines(logs.lines)).toEqual([]);
  });

  it('a disallowed host: 400 disallowed_host naming the connection_config field; nothing sent', async () => {
    const manager = await withIntegration(
      {
        provider: 'p',
        clientId: 'id',
        clientSecret: 's',
        definition: {
          authMode: 'OAUTH2',
          tokenUrl: 'http://${connectionConfig.hostname}/token',
          connectionConfig: { hostname: {} },
        },
      },
      { hostname: 'attacker.example' },
    );
    const { call, logs } = await serve(manager);
    const answer = await call(GET_FORCED);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'disallowed_host', field: 'connectionConfig.hostname' });
    expect(errorLines(logs.lines)).toEqual([]);
  });

  it('a record that fails decryption: 500 decryption_failed (its own code), logged once under the answer’s log_id', async () => {
    const store = memoryStore();
    const integrations = { basic: { provider: 'p', definition: { authMode: 'BASIC' as const } } };
    const writer = testManager({
      store,
      integrations,
      encryptionKey: { id: 'k1', key: randomBytes(32).toString('base64') },
    });
    await writer.create({
      connectionId: 'c',
      providerConfigKey: 'basic',
      credentials: { type: 'BASIC', username: 'u', password: 'p' },
    });
    // Same key id, other key bytes: the sealed record fails authentication.
    const reader = testManager({
      store,
      integrations,
      encryptionKey: { id: 'k1', key: randomBytes(32).toString('base64') },
    });
    const { call, logs } = await serve(reader);
    const answer = await call('/connection/c?provider_config_key=basic');
    expect(answer.status).toBe(500);
    expect(answer.body.error).toMatchObject({ code: 'decryption_failed', log_id: expect.any(String) });
    const logged = errorLines(logs.lines);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(answer.body.error.log_id);
    expect(logged[0]).toContain('decryption_failed');
  });

  it('a provider that cannot be reached: 502 provider_unavailable naming the host, never "refused"', async () => {
    const port = await freePort();
    const manager = await withIntegration({
      provider: 'p',
      clientId: 'id',
      clientSecret: 's',
      definition: { authMode: 'OAUTH2', tokenUrl: `http://127.0.0.1:${port}/token` },
    });
    const { call, logs } = await serve(manager);
    const answer = await call(GET_FORCED);
    expect(answer.status).toBe(502);
    expect(answer.body.error).toMatchObject({ code: 'provider_unavailable', log_id: expect.any(String) });
    expect(answer.body.message).toContain(`127.0.0.1:${port}`);
    expect(answer.body.message).not.toMatch(/refused the refresh/);
    expect(logs.lines.join('\n')).not.toContain('latchkey api: request failed');
  });

  it('a provider that answers 503: 502 provider_unavailable; one that refuses: still 400 refresh_token_external_error', async () => {
    const server = await startTokenServer();
    closers.push(server.close);
    const manager = await withIntegration({
      provider: 'p',
      clientId: server.clientId,
      clientSecret: server.clientSecret,
      definition: { authMode: 'OAUTH2', tokenUrl: server.url },
    });
    const { call } = await serve(manager);
    server.reply(() => ({ status: 503, json: { error: 'temporarily_unavailable' } }));
    const failing = await call(GET_FORCED);
    expect(failing.status).toBe(502);
    expect(failing.body.error.code).toBe('provider_unavailable');
    expect(failing.body.message).toContain(new URL(server.url).host);
    server.reply(() => ({ status: 400, json: { error: 'invalid_scope' } }));
    const refusing = await call(GET_FORCED);
    expect(refusing.status).toBe(400);
    expect(refusing.body).toMatchObject({
      // Nango's answer to a failed refresh: invalid_credentials, the cause in the payload.
      error: { code: 'invalid_credentials', payload: { code: 'refresh_token_external_error' } },
      message: 'The provider refused the refresh (invalid_scope).',
    });
  });

  it('a provider that does not answer in time: 504 provider_timeout naming the host', async () => {
    // Takes the request and never answers; closed (with its sockets) when the test ends.
    const silent = createServer(() => {});
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    closers.push(async () => {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    });
    const host = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const manager = testManager({
      store: memoryStore(),
      integrations: {
        x: {
          provider: 'p',
          clientId: 'id',
          clientSecret: 's',
          definition: { authMode: 'OAUTH2', tokenUrl: `http://${host}/token` },
        },
      },
      http: { timeoutMs: 300 },
    });
    await manager.create({ connectionId: 'c', providerConfigKey: 'x', credentials: OAUTH });
    const { call } = await serve(manager);
    const answer = await call(GET_FORCED);
    expect(answer.status).toBe(504);
    expect(answer.body.error.code).toBe('provider_timeout');
    expect(answer.body.message).toContain(host);
  });

  it('a client that hangs up mid-body is not a server failure: no error log, no 500', async () => {
    const manager = testManager({ store: memoryStore() });
    const logs = captureLogs();
    const handler = createApiHandler({ manager, apiKeys: [{ key: KEY }], logger: logs.logger });
    let answered!: (status: number) => void;
    const statusSeen = new Promise<number>((resolve) => (answered = resolve));
    const server = await serveOnLoopback(async (request) => {
      const response = await handler(request);
      answered(response.status);
      return response;
    });
    closers.push(server.close);
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      'POST /connections HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        `Authorization: Bearer ${KEY}\r\nContent-Length: 1000\r\n\r\n{"connection_id": "half`,
    );
    // Hang up once the handler is reading the body: the server has the head and part of it.
    await new Promise((resolve) => setImmediate(resolve));
    socket.destroy();
    const status = await statusSeen;
    expect(status).toBeLessThan(500);
    expect(errorLines(logs.lines)).toEqual([]);
  });
});

import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  AuthorizationError,
  type ConnectionManager,
  DisallowedHostError,
  type IntegrationConfig,
  ProviderError,
} from '../../src/index.js';
import { freePort } from '../support/free-port.js';
import { captureLogs } from '../support/logs.js';
import { testManager } from '../support/manager.js';
import { testScope } from '../support/scope.js';

// Regression: `manager.connect` reported every failed verification as "the provider refused these
// credentials" — a timeout, a refused connection, a 503 and a disallowed host included — with no
// timeout on the request and nothing logged.

const { defer } = testScope();
const KEY = 'sk-submitted-key-value';

/** The provider's API: answers the verification request as `answer` says; counts requests. */
async function startApi(answer: (res: ServerResponse) => void) {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.url ?? '');
    answer(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, port, seen };
}

function managerFor(integration: IntegrationConfig) {
  const logs = captureLogs();
  const manager = testManager({
    integrations: { api: integration },
    logger: logs.logger,
    http: { allowInsecureLoopback: true, timeoutMs: 300 },
  });
  return { manager, lines: logs.lines };
}

const apiKeyAt = (baseUrl: string): IntegrationConfig => ({
  provider: 'some-api',
  definition: { authMode: 'API_KEY', proxy: { baseUrl }, verification: { path: '/v1/me' } },
});

async function connectKey(manager: ConnectionManager) {
  return manager
    .connect({ connectionId: 'c', providerConfigKey: 'api', credentials: { type: 'API_KEY', apiKey: KEY } })
    .catch((error: unknown) => error);
}

async function expectNothingStored(manager: ConnectionManager) {
  expect((await manager.list()).connections).toEqual([]);
}

describe('connect: why submitted credentials could not be verified', () => {
  it('a 401 is a refusal of the credentials', async () => {
    const api = await startApi((res) => res.writeHead(401).end('{"error":"unauthorized"}'));
    const { manager } = managerFor(apiKeyAt(api.url));
    const failure = await connectKey(manager);
    expect(failure).toBeInstanceOf(AuthorizationError);
    expect(failure).toMatchObject({ errorType: 'verification_failed', connectionId: 'c' });
    expect((failure as Error).message).toContain('HTTP 401');
    await expectNothingStored(manager);
  });

  it('an API that stalls: a transient provider error naming the host, within the HTTP timeout, logged', async () => {
    const api = await startApi(() => {}); // never answers
    const { manager, lines } = managerFor(apiKeyAt(api.url));
    const failure = await connectKey(manager);
    expect(failure).toBeInstanceOf(ProviderError);
    expect(failure).toMatchObject({ kind: 'transient', error: 'timeout' });
    expect((failure as Error).message).toContain(api.host);
    expect(api.seen).toEqual(['/v1/me']);
    await expectNothingStored(manager);
    const log = lines.join('\n');
    expect(log).toContain('could not verify the submitted credentials');
    expect(log).not.toContain(KEY);
  });

  it('an API that is unreachable (a closed port): a transient provider error naming the host', async () => {
    const port = await freePort();
    const { manager } = managerFor(apiKeyAt(`http://127.0.0.1:${port}`));
    const failure = await connectKey(manager);
    expect(failure).toBeInstanceOf(ProviderError);
    expect(failure).toMatchObject({ kind: 'transient', error: 'network_error' });
    expect((failure as Error).message).toContain(`127.0.0.1:${port}`);
    expect((failure as Error).message).not.toContain(KEY);
    await expectNothingStored(manager);
  });

  it('an API that answers 503: a transient provider error naming the host and the status', async () => {
    const api = await startApi((res) => res.writeHead(503).end('down for maintenance'));
    const { manager } = managerFor(apiKeyAt(api.url));
    const failure = await connectKey(manager);
    expect(failure).toBeInstanceOf(ProviderError);
    expect(failure).toMatchObject({ kind: 'transient', status: 503 });
    expect((failure as Error).message).toContain(api.host);
    await expectNothingStored(manager);
  });

  it('a host the definition does not allow: DisallowedHostError, and nothing is sent', async () => {
    const api = await startApi((res) => res.writeHead(200).end('{}'));
    const { manager } = managerFor({
      provider: 'self-hosted-api',
      definition: {
        authMode: 'API_KEY',
        connectionConfig: { hostname: {}, port: { pattern: '^\\d+$' } },
        proxy: { baseUrl: 'http://${connectionConfig.hostname}:${connectionConfig.port}' },
        verification: { path: '/v1/me' },
      },
    });
    const failure = await manager
      .connect({
        connectionId: 'c',
        providerConfigKey: 'api',
        credentials: { type: 'API_KEY', apiKey: KEY },
        connectionConfig: { hostname: '127.0.0.1', port: String(api.port) },
      })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DisallowedHostError);
    expect(api.seen).toEqual([]);
    await expectNothingStored(manager);
  });

  it('a minting mode whose token endpoint is unreachable: a transient provider error, not a refusal', async () => {
    const port = await freePort();
    const { manager } = managerFor({
      provider: 'vendor',
      definition: {
        authMode: 'TWO_STEP',
        twoStep: {
          tokenRequest: {
            url: `http://127.0.0.1:${port}/token`,
            method: 'GET',
            headers: { 'X-Api-Key': '${credentials.apiKey}' },
          },
          tokenPath: 'token',
        },
      },
    });
    const failure = await manager
      .connect({ connectionId: 'v', providerConfigKey: 'api', credentials: { type: 'TWO_STEP', apiKey: KEY } })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ProviderError);
    expect(failure).toMatchObject({ kind: 'transient' });
    expect((failure as Error).message).toContain(`127.0.0.1:${port}`);
    await expectNothingStored(manager);
  });
});

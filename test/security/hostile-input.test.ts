import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { type ConnectionManager, LatchkeyError, ProviderError } from '../../src/index.js';
import type { StorageAdapter } from '../../src/adapter.js';
import { testManager } from '../support/manager.js';
import { startApi } from '../support/signed-apis.js';
import { startTokenServer, type TokenServer } from '../support/token-server.js';

const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ minLength: 250, maxLength: 1200 }),
  fc.constantFrom(
    '',
    ' ',
    ':',
    '%',
    '%3A',
    "'; DROP TABLE latchkey;--",
    '../../etc/passwd',
    '\u0000',
    'a\nb',
    'connection:keys:base',
    'keys',
    'base',
    '__proto__',
    'constructor',
  ),
);
const hostileValue = fc.oneof(fc.anything({ maxDepth: 3 }), hostileString, fc.constant(undefined), fc.constant(null));
const ref = fc.oneof(
  hostileString,
  fc.record({ connectionId: hostileString, providerConfigKey: fc.oneof(hostileString, fc.constant('keys')) }),
  hostileValue,
);

async function snapshot(store: StorageAdapter): Promise<string> {
  // Every entry, in key order: any write at all would show.
  return JSON.stringify(await store.scan('', { limit: 100_000 }));
}

async function freshManager() {
  const store = memoryStore();
  const manager = testManager({
    store,
    integrations: {
      keys: { provider: 'k', definition: { authMode: 'API_KEY' } },
      oauth: {
        provider: 'o',
        clientId: 'c',
        clientSecret: 's',
        definition: { authMode: 'OAUTH2', tokenUrl: 'http://127.0.0.1:9/token' },
      },
    },
    http: { timeoutMs: 2000 },
  });
  await manager.create({
    connectionId: 'base',
    providerConfigKey: 'keys',
    credentials: { type: 'API_KEY', apiKey: 'k' },
    tags: { env: 'prod' },
  });
  await manager.create({
    connectionId: 'token',
    providerConfigKey: 'oauth',
    credentials: { type: 'OAUTH2', access_token: 'a', refresh_token: 'r' },
  });
  return { store, manager };
}

type Call = (manager: ConnectionManager) => Promise<unknown>;
const calls: fc.Arbitrary<[string, Call]> = fc.oneof(
  fc
    .tuple(
      hostileString,
      fc.oneof(hostileString, fc.constant('keys')),
      hostileValue,
      hostileValue,
      hostileValue,
      hostileValue,
    )
    .map(([connectionId, providerConfigKey, credentials, metadata, tags, connectionConfig]): [string, Call] => [
      'create',
      (m) => m.create({ connectionId, providerConfigKey, credentials, metadata, tags, connectionConfig } as never),
    ]),
  fc
    .tuple(hostileString, hostileValue)
    .map(([connectionId, apiKey]): [string, Call] => [
      'upsert',
      (m) => m.upsert({ connectionId, providerConfigKey: 'keys', credentials: { type: 'API_KEY', apiKey } } as never),
    ]),
  fc
    .tuple(hostileValue, hostileValue)
    .map(([id, options]): [string, Call] => ['get', (m) => m.get(id as never, options as never)]),
  hostileValue.map((filter): [string, Call] => ['list', (m) => m.list(filter as never)]),
  ref.map((r): [string, Call] => ['delete', (m) => m.delete(r as never)]),
  fc
    .tuple(ref, hostileValue)
    .map(([r, v]): [string, Call] => ['setMetadata', (m) => m.setMetadata(r as never, v as never)]),
  fc
    .tuple(ref, hostileValue)
    .map(([r, v]): [string, Call] => ['updateMetadata', (m) => m.updateMetadata(r as never, v as never)]),
  fc.tuple(ref, hostileValue).map(([r, v]): [string, Call] => ['setTags', (m) => m.setTags(r as never, v as never)]),
  fc
    .tuple(ref, hostileValue)
    .map(([r, v]): [string, Call] => [
      'updateConnectionConfig',
      (m) => m.updateConnectionConfig(r as never, v as never),
    ]),
  fc
    .tuple(ref, hostileValue)
    .map(([r, v]): [string, Call] => ['signRequest', (m) => m.signRequest(r as never, v as never)]),
  fc
    .tuple(
      hostileString,
      fc.oneof(hostileString, fc.constantFrom('keys', 'oauth')),
      hostileValue,
      hostileValue,
      hostileValue,
    )
    .map(([connectionId, providerConfigKey, redirectUri, scopes, connectionConfig]): [string, Call] => [
      'authorize',
      (m) => m.authorize({ connectionId, providerConfigKey, redirectUri, scopes, connectionConfig } as never),
    ]),
  hostileValue.map((query): [string, Call] => ['handleCallback', (m) => m.handleCallback(query as never)]),
  fc
    .tuple(hostileString, hostileValue)
    .map(([connectionId, credentials]): [string, Call] => [
      'connect',
      (m) => m.connect({ connectionId, providerConfigKey: 'keys', credentials } as never),
    ]),
);

describe('hostile input to every public method', () => {
  it('either succeeds or throws a typed LatchkeyError, and a refused call changes nothing stored', async () => {
    await fc.assert(
      fc.asyncProperty(calls, async ([, call]) => {
        const { store, manager } = await freshManager();
        const before = await snapshot(store);
        const outcome = await call(manager).then(
          () => undefined,
          (error: unknown) => error,
        );
        if (outcome !== undefined) {
          expect(outcome).toBeInstanceOf(LatchkeyError);
          expect(typeof (outcome as LatchkeyError).code).toBe('string');
          expect(await snapshot(store)).toBe(before);
        }
        // The manager still works afterwards (the call may legitimately have deleted `base`).
        expect((await manager.list()).connections.length).toBeGreaterThanOrEqual(1);
        await manager.close();
      }),
      { numRuns: 400 },
    );
  });

  it('ids that look like storage keys or SQL never reach another connection', async () => {
    await fc.assert(
      fc.asyncProperty(hostileString, async (id) => {
        const { manager } = await freshManager();
        const created = await manager
          .create({ connectionId: id, providerConfigKey: 'keys', credentials: { type: 'API_KEY', apiKey: 'other' } })
          .catch(() => undefined);
        expect((await manager.get('base', { providerConfigKey: 'keys' })).credentials).toEqual({
          type: 'API_KEY',
          apiKey: 'k',
        });
        if (created && id !== 'base')
          expect((await manager.get(id, { providerConfigKey: 'keys' })).connection_id).toBe(id);
        await manager.close();
      }),
      { numRuns: 200 },
    );
  });
});

describe('hostile token responses', () => {
  let server: TokenServer;
  beforeAll(async () => {
    server = await startTokenServer('client_secret_post');
  });
  afterAll(async () => {
    await server.close();
  });

  const responses: Array<[string, Parameters<TokenServer['reply']>[0]]> = [
    ['an HTML page with 200', () => ({ body: '<html>maintenance</html>' })],
    ['JSON that is an array', () => ({ json: [1, 2, 3] })],
    ['no access_token', () => ({ json: { token_type: 'Bearer', expires_in: 3600 } })],
    ['a numeric access_token', () => ({ json: { access_token: 12345, token_type: 'Bearer' } })],
    ['a negative expires_in', () => ({ json: { access_token: 'a', token_type: 'Bearer', expires_in: -5 } })],
    [
      'a 2 MiB body',
      () => ({ json: { access_token: 'a', token_type: 'Bearer', padding: 'x'.repeat(2 * 1024 * 1024) } }),
    ],
    ['truncated JSON', () => ({ body: '{"access_token": "a", "tok' })],
  ];

  it.each(responses)('%s: a typed transient ProviderError, credentials unchanged', async (_name, reply) => {
    server.reply(reply);
    const manager = testManager({
      integrations: {
        crm: {
          provider: 'crm',
          clientId: server.clientId,
          clientSecret: server.clientSecret,
          definition: { authMode: 'OAUTH2', tokenUrl: server.url },
        },
      },
    });
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'crm',
      credentials: { type: 'OAUTH2', access_token: 'old', refresh_token: 'r', expires_in: 0 },
    });
    const error = await manager.get('c').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe('transient');
    const stored = await manager.get('c', { forceRefresh: false, refreshToken: true }).catch((e: unknown) => e);
    expect(stored).toMatchObject({ code: 'refresh_backoff' });
    const listed = await manager.list({ connectionId: 'c' });
    expect(listed.connections[0]?.errors).toHaveLength(1);
    await manager.close();
  });
});

describe('hostile input to manager.fetch', () => {
  let api: Awaited<ReturnType<typeof startApi>>;
  beforeAll(async () => {
    api = await startApi(() => ({ status: 200, body: '{}' }));
  });
  afterAll(async () => {
    await api.close();
  });

  const hostileInit = fc.oneof(
    hostileValue,
    fc.record(
      {
        method: fc.oneof(hostileValue, fc.constantFrom('GET', 'POST', 'DELETE', 'get', 'CONNECT')),
        headers: fc.oneof(hostileValue, fc.dictionary(hostileString, hostileString, { maxKeys: 3 })),
        body: fc.oneof(hostileValue, hostileString, fc.constant(new URLSearchParams('a=1'))),
        redirect: fc.oneof(hostileValue, fc.constantFrom('follow', 'manual', 'error')),
      },
      { requiredKeys: [] },
    ),
  );

  it('answers, or refuses with a typed LatchkeyError; nothing reaches a host but the provider’s', async () => {
    const manager = testManager({
      integrations: {
        api: { provider: 'a', definition: { authMode: 'API_KEY', proxy: { baseUrl: `${api.url}/v1` } } },
      },
      http: { timeoutMs: 2000 },
    });
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'api',
      credentials: { type: 'API_KEY', apiKey: 'k-secret' },
    });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(hostileString, fc.constantFrom('//evil.test/x', 'https://evil.test/', '/ok')),
        hostileInit,
        async (path, init) => {
          const outcome = await manager.fetch('c', path, init as never).then(
            (response) => response,
            (error: unknown) => error,
          );
          // An answer (the local API may refuse an odd method with a 400), or a typed refusal that quotes no secret.
          expect(outcome instanceof Response || outcome instanceof LatchkeyError).toBe(true);
          if (outcome instanceof Response) await outcome.body?.cancel();
          else expect(JSON.stringify(outcome) + String((outcome as Error).message)).not.toContain('k-secret');
        },
      ),
      { numRuns: 300 },
    );
    expect(api.accepted.every((request) => request.target.startsWith('/v1/'))).toBe(true);
    await manager.close();
  });
});

/**
 * `GET /connection/:id` takes shortcuts on the Node path (src/api/node-listener.ts, respond.ts
 * `JsonAnswer`, request.ts `readQuery`): none of them may change what is answered. The same
 * request through `toNodeListener` and through the fetch-style handler gets the same status,
 * headers and bytes, and a query read without `URLSearchParams` reads as it would.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { readQuery } from '../../src/api/request.js';
import { createApiHandler } from '../../src/http.js';
import { ConnectionManager } from '../../src/index.js';
import { serveOnLoopback } from '../support/api-server.js';

const KEY = randomBytes(24).toString('base64url');

describe('GET /connection/:id on the Node path', () => {
  let manager: ConnectionManager;
  let handler: (request: Request) => Promise<Response>;
  let server: Awaited<ReturnType<typeof serveOnLoopback>>;

  beforeAll(async () => {
    manager = new ConnectionManager({
      store: memoryStore(),
      encryptionKey: randomBytes(32).toString('base64'),
      integrations: {
        crm: { provider: 'crm', definition: { authMode: 'OAUTH2', tokenUrl: 'https://example.invalid/token' } },
      },
    });
    await manager.create({
      connectionId: 'user-1',
      providerConfigKey: 'crm',
      credentials: { type: 'OAUTH2', access_token: 'a'.repeat(40), expires_at: '2999-01-01T00:00:00Z' },
      metadata: { plan: 'pro', name: 'Zoë' },
    });
    handler = createApiHandler({ manager, apiKeys: [{ key: KEY }] });
    server = await serveOnLoopback(handler);
  });
  afterAll(async () => {
    await server.close();
    await manager.close();
  });

  it('answers as the fetch-style handler does: status, headers and bytes', async () => {
    const path = '/connection/user-1?provider_config_key=crm';
    const headers = { authorization: `Bearer ${KEY}` };
    const overNode = await fetch(`${server.url}${path}`, { headers });
    const direct = await handler(new Request(`${server.url}${path}`, { headers }));
    const nodeBytes = Buffer.from(await overNode.arrayBuffer());
    const directBytes = Buffer.from(await direct.arrayBuffer());
    expect(overNode.status).toBe(200);
    expect(direct.status).toBe(200);
    // `last_fetched_at` is when each read happened; everything else is byte for byte the same.
    const fetchedAt = /"last_fetched_at":"[^"]*"/;
    expect(nodeBytes.toString('utf8').replace(fetchedAt, '')).toBe(directBytes.toString('utf8').replace(fetchedAt, ''));
    expect(nodeBytes.length).toBe(directBytes.length);
    expect(JSON.parse(nodeBytes.toString('utf8'))).toMatchObject({
      connection_id: 'user-1',
      credentials: { access_token: 'a'.repeat(40) },
      metadata: { plan: 'pro', name: 'Zoë' },
    });
    for (const name of ['content-type', 'cache-control', 'x-content-type-options']) {
      expect(overNode.headers.get(name)).toBe(direct.headers.get(name));
    }
    expect(overNode.headers.get('cache-control')).toBe('no-store');
    expect(Number(overNode.headers.get('content-length'))).toBe(nodeBytes.length);
  });

  it('still checks the query: a repeated or empty parameter is refused', async () => {
    const headers = { authorization: `Bearer ${KEY}` };
    const repeated = await fetch(`${server.url}/connection/user-1?provider_config_key=crm&provider_config_key=crm`, {
      headers,
    });
    expect(repeated.status).toBe(400);
    expect(((await repeated.json()) as { error: { code: string } }).error.code).toBe('invalid_query_params');
    const empty = await fetch(`${server.url}/connection/user-1?provider_config_key=`, { headers });
    expect(empty.status).toBe(400);
  });
});

describe('readQuery without URLSearchParams', () => {
  const Any = v.record(v.string(), v.unknown());
  // Characters a query may hold as they are (no `%`, `+`, `&`, `#`); `=` may appear in values.
  const text = fc.stringMatching(/^[A-Za-z0-9\-._~!$'()*,;:@/?]{0,6}$/);

  it('reads an unencoded query as URLSearchParams reads it', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(text, fc.option(text), fc.boolean())), (pairs) => {
        const search = pairs
          .map(([name, value, gap]) => `${gap ? '&' : ''}${value === null ? name : `${name}=${value}=${value}`}`)
          .join('&');
        // The same query, once as it is (split) and once with one parameter encoded (URLSearchParams).
        const plain = new URL(`http://h/p?${search}&zz=a`);
        const encoded = new URL(`http://h/p?${search}&zz=%61`);
        const outcome = (url: URL) => {
          try {
            return { value: readQuery(url, Any) };
          } catch (error) {
            return { error: (error as Error).message };
          }
        };
        expect(outcome(plain)).toEqual(outcome(encoded));
      }),
      { numRuns: 300 },
    );
  });
});

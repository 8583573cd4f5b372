import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { ROUTES } from '../../src/api/routes.js';
import { createApiHandler } from '../../src/http.js';
import { serveOnLoopback } from '../support/api-server.js';
import { testManager } from '../support/manager.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

interface Document {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: Array<{ name: string; in: string; schema: unknown }>;
        requestBody?: {
          content: { 'application/json': { schema: { required?: string[]; properties: Record<string, unknown> } } };
        };
        'x-latchkey-scope': string;
      }
    >
  >;
}

async function fetchDocument(): Promise<{ status: number; body: Document }> {
  const manager = testManager({ store: memoryStore() });
  const server = await serveOnLoopback(
    createApiHandler({ manager, apiKeys: [{ key: 'openapi-test-key-0123456789' }] }),
  );
  closers.push(server.close);
  const response = await fetch(`${server.url}/openapi.json`);
  return { status: response.status, body: (await response.json()) as Document };
}

describe('GET /openapi.json', () => {
  it('is served without a key, as OpenAPI 3.1', async () => {
    const { status, body } = await fetchDocument();
    expect(status).toBe(200);
    expect(body.openapi).toBe('3.1.0');
  });

  it('lists every route of the route table, and nothing else', async () => {
    const { body } = await fetchDocument();
    const fromTable = ROUTES.map(
      (route) =>
        `${route.method} /${route.path.map((part) => (part.startsWith(':') ? `{${part.slice(1)}}` : part)).join('/')}`,
    ).sort();
    const fromDocument = Object.entries(body.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    expect(fromDocument).toEqual(fromTable);
    for (const route of ROUTES) {
      const path = `/${route.path.map((part) => (part.startsWith(':') ? `{${part.slice(1)}}` : part)).join('/')}`;
      expect(body.paths[path]![route.method.toLowerCase()]!['x-latchkey-scope']).toBe(route.scope);
    }
  });

  it('describes bodies and queries from the schemas the server checks them with', async () => {
    const { body } = await fetchDocument();
    const create = body.paths['/connections']!.post!.requestBody!.content['application/json'].schema;
    expect(create.required).toEqual(expect.arrayContaining(['provider_config_key', 'credentials']));
    expect(JSON.stringify(create.properties.end_user)).toContain('"email"');
    const list = body.paths['/connections']!.get!.parameters!.map((parameter) => parameter.name);
    expect(list).toEqual(expect.arrayContaining(['limit', 'page', 'cursor', 'tags', 'integrationId', 'search']));
    const get = body.paths['/connections/{connectionId}']!.get!.parameters!;
    expect(get).toContainEqual(expect.objectContaining({ name: 'connectionId', in: 'path' }));
    expect(get).toContainEqual(expect.objectContaining({ name: 'provider_config_key', in: 'query', required: true }));
  });
});

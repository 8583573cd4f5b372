/**
 * Nango's answers: every route the two servers both serve is called through a real loopback
 * server, each answer (successes and errors) is validated against our JSON Schemas of Nango's
 * answer shapes (spec/nango-answers.schema.json, spec/connection-full.schema.json), and the
 * routes table in docs/http-api.md is checked against the route table and the statuses seen.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { requirementOf } from '../../src/api/route.js';
import { matchRoute, ROUTES } from '../../src/api/routes.js';
import { createApiHandler } from '../../src/http.js';
import type { ConnectionManager } from '../../src/index.js';
import { ConnectionManager as Manager } from '../../src/index.js';
import { serveOnLoopback } from '../support/api-server.js';
import { testManagerOptions } from '../support/manager.js';
import { startTokenServer, type TokenServer } from '../support/token-server.js';

const read = (name: string) =>
  JSON.parse(readFileSync(fileURLToPath(new URL(`../../spec/${name}`, import.meta.url)), 'utf8')) as object;
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
ajv.addSchema(read('nango-answers.schema.json'));
ajv.addSchema(read('connection-full.schema.json'));

function schemaErrors(ref: string, value: unknown): string[] {
  const validate = ajv.getSchema(ref);
  if (!validate) throw new Error(`no schema ${ref}`);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((error) => `${ref}${error.instancePath} ${error.message}`);
}

const FULL = 'answers-full-key-0123456789';
const READER = 'answers-reader-key-0123456789';
const OAUTH = { type: 'OAUTH2', access_token: 'a', refresh_token: 'r', expires_at: '2999-01-01T00:00:00Z' };

/** `GET /connections/:connectionId`, the route key of the table (`:name` segments as written there). */
const routeKey = (route: { method: string; path: string[] }) => `${route.method} /${route.path.join('/')}`;
/** Routes this file does not drive: their own tests do, with the real clients (see below). */
const coveredElsewhere = (route: { path: string[]; auth?: string }) =>
  route.auth !== undefined || route.path[0] === 'proxy' || route.path[0] === 'connect';

/** Which of our schemas an answer of this route and status must match. */
function schemaFor(key: string, status: number, body: { error?: { code?: string } }, withCredentials: boolean) {
  if (status >= 400) {
    if (body.error?.code === 'invalid_credentials' && key.startsWith('GET /connection'))
      return 'NangoAnswers#/$defs/InvalidCredentials';
    if (body.error?.code === 'forbidden') return 'NangoAnswers#/$defs/Forbidden';
    return 'NangoAnswers#/$defs/Error';
  }
  const generic = key.replace(/^(\w+) \/connections?/, '$1 /connection');
  const table: Record<string, string> = {
    'GET /connection': 'NangoAnswers#/$defs/ConnectionList',
    'POST /connection': 'ConnectionFull',
    'POST /connection/metadata': 'NangoAnswers#/$defs/Metadata',
    'PATCH /connection/metadata': 'NangoAnswers#/$defs/Metadata',
    'GET /connection/:connectionId': withCredentials
      ? 'ConnectionFull'
      : 'NangoAnswers#/$defs/ConnectionWithoutCredentials',
    'DELETE /connection/:connectionId': 'NangoAnswers#/$defs/Success',
    'PATCH /connection/:connectionId': 'NangoAnswers#/$defs/Success',
    'POST /connection/:connectionId/metadata': 'NangoAnswers#/$defs/Metadata',
    'PATCH /connection/:connectionId/metadata': 'NangoAnswers#/$defs/Metadata',
    'GET /integrations': 'NangoAnswers#/$defs/IntegrationList',
    'GET /integrations/:uniqueKey': 'NangoAnswers#/$defs/IntegrationAnswer',
    'GET /providers': 'NangoAnswers#/$defs/ProviderList',
    'GET /providers/:provider': 'NangoAnswers#/$defs/ProviderAnswer',
  };
  const ref = table[generic];
  if (!ref) throw new Error(`no answer schema for ${key}`);
  return ref;
}

let tokenServer: TokenServer;
let manager: ConnectionManager;
let base: string;
let close: () => Promise<void>;
/** Every answer seen: route key, status, and the schema errors (none expected). */
const seen: Array<{ key: string; status: number; errors: string[] }> = [];

beforeAll(async () => {
  tokenServer = await startTokenServer();
  manager = new Manager(
    testManagerOptions({
      store: memoryStore(),
      integrations: {
        github: { provider: 'github', clientId: 'id', clientSecret: 'client-secret-value', scopes: ['repo'] },
        crm: {
          provider: 'crm',
          clientId: tokenServer.clientId,
          clientSecret: tokenServer.clientSecret,
          definition: {
            authMode: 'OAUTH2',
            tokenUrl: tokenServer.url,
            connectionConfig: { tenant: { optional: true } },
          },
        },
      },
    }),
  );
  const server = await serveOnLoopback(
    createApiHandler({
      manager,
      apiKeys: [
        { key: FULL },
        { key: READER, scopes: ['environment:connections:read', 'environment:integrations:read'] },
      ],
    }),
  );
  base = server.url;
  close = server.close;
});
afterAll(async () => {
  await close();
  await manager.close();
  await tokenServer.close();
});

async function call(path: string, init: RequestInit & { key?: string } = {}) {
  const url = new URL(path, base);
  const response = await fetch(url, {
    ...init,
    headers: { authorization: `Bearer ${init.key ?? FULL}`, 'content-type': 'application/json' },
  });
  const body = (await response.json()) as Record<string, unknown> & { error?: { code?: string } };
  const method = init.method ?? 'GET';
  const matched = matchRoute(method, url.pathname.split('/').filter(Boolean));
  if (!matched || !('route' in matched)) throw new Error(`no route for ${method} ${url.pathname}`);
  const key = routeKey(matched.route);
  const withCredentials = (init.key ?? FULL) === FULL;
  seen.push({
    key,
    status: response.status,
    errors: schemaErrors(schemaFor(key, response.status, body, withCredentials), body),
  });
  return { status: response.status, body };
}

const json = (value: unknown) => JSON.stringify(value);

describe("Nango's answers", () => {
  it('every route both serve answers, in success and in error, in Nango’s shapes', async () => {
    // The schemas do refuse: an answer with credentials where none may be, a closed object with more.
    expect(schemaErrors('NangoAnswers#/$defs/ConnectionListItem', { credentials: {} })).not.toEqual([]);
    expect(schemaErrors('NangoAnswers#/$defs/Integration', { unique_key: 'a', client_secret: 's' })).not.toEqual([]);
    expect(schemaErrors('NangoAnswers#/$defs/Error', { message: 'no error object' })).not.toEqual([]);
    for (const prefix of ['/connection', '/connections']) {
      const id = `conn${prefix.length}`;
      const created = await call(prefix, {
        method: 'POST',
        body: json({ connection_id: id, provider_config_key: 'github', credentials: OAUTH, tags: { team: 'a' } }),
      });
      expect(created.status).toBe(201);
      await call(prefix, { method: 'POST', body: json({ provider_config_key: 'nope', credentials: OAUTH }) });
      await call(prefix, {
        method: 'POST',
        body: json({ provider_config_key: 'github', credentials: { type: 'OAUTH2' } }),
      });
      await call(`${prefix}?limit=1`);
      await call(`${prefix}?limit=0`);
      await call(`${prefix}/${id}?provider_config_key=github`);
      await call(`${prefix}/${id}?provider_config_key=github`, { key: READER });
      await call(`${prefix}/${id}?provider_config_key=github&refresh_token=true`, { key: READER });
      await call(`${prefix}/${id}?provider_config_key=nope`);
      await call(`${prefix}/ghost?provider_config_key=github`);
      await call(`${prefix}/${id}`);
      await call(`${prefix}/metadata`, {
        method: 'POST',
        body: json({ connection_id: id, provider_config_key: 'github', metadata: { a: 1 } }),
      });
      await call(`${prefix}/metadata`, {
        method: 'PATCH',
        body: json({ connection_id: [id], provider_config_key: 'github', metadata: { b: 2 } }),
      });
      await call(`${prefix}/metadata`, {
        method: 'POST',
        body: json({ connection_id: 'ghost', provider_config_key: 'github', metadata: {} }),
      });
      await call(`${prefix}/${id}/metadata?provider_config_key=github`, { method: 'POST', body: json({ c: 3 }) });
      await call(`${prefix}/${id}/metadata?provider_config_key=github`, { method: 'PATCH', body: json({ d: 4 }) });
      await call(`${prefix}/${id}/metadata`, { method: 'PATCH', body: json({ d: 4 }) });
      await call(`${prefix}/${id}?provider_config_key=github`, {
        method: 'PATCH',
        body: json({ tags: { team: 'b' }, end_user: { id: 'u-1', email: 'u@example.com' } }),
      });
      await call(`${prefix}/${id}?provider_config_key=github`, { method: 'PATCH', body: json({ unknown: true }) });
      await call(`${prefix}/${id}?provider_config_key=github`, { method: 'DELETE' });
      await call(`${prefix}/${id}?provider_config_key=github`, { method: 'DELETE' });
    }
    await call('/integrations');
    await call('/integrations?x=1');
    await call('/integrations/github?include=credentials');
    await call('/integrations/github?include=webhook,credentials', { key: READER });
    await call('/integrations/nope');
    await call('/providers');
    await call('/providers?search=git');
    await call('/providers/github');
    await call('/providers/no-such-provider');

    expect(seen.filter((answer) => answer.errors.length > 0)).toEqual([]);
    // Every route was answered, and with its success status at least once — except the routes
    // whose own tests drive them with the real clients: the connect-session and credential routes
    // (test/sessions, with @nangohq/node) and the proxy (test/proxy/proxy-http.test.ts).
    for (const route of ROUTES.filter((one) => !coveredElsewhere(one))) {
      expect([routeKey(route), seen.some((answer) => answer.key === routeKey(route) && answer.status < 300)]).toEqual([
        routeKey(route),
        true,
      ]);
    }
  });

  it('a failed refresh: invalid_credentials with the connection (no credentials) in the payload', async () => {
    await manager.create({
      connectionId: 'refused',
      providerConfigKey: 'crm',
      credentials: { ...OAUTH, access_token: 'stale-access', refresh_token: 'dead-refresh' },
    });
    tokenServer.reply(() => ({ status: 400, json: { error: 'invalid_grant' } }));
    const answer = await call('/connections/refused?provider_config_key=crm&force_refresh=true');
    expect(answer.status).toBe(424);
    expect(answer.body.error).toMatchObject({
      code: 'invalid_credentials',
      payload: {
        code: 'connection_refresh_exhausted',
        log_id: expect.any(String),
        connection: { connection_id: 'refused', provider_config_key: 'crm', credentials: {} },
      },
    });
    expect(JSON.stringify(answer.body)).not.toContain('stale-access');
    expect(JSON.stringify(answer.body)).not.toContain('dead-refresh');
    expect(seen.at(-1)!.errors).toEqual([]);
  });

  it('docs/http-api.md lists every route with its scopes and its success status, and nothing else', () => {
    const text = readFileSync(fileURLToPath(new URL('../../docs/http-api.md', import.meta.url)), 'utf8');
    const section = text.slice(text.indexOf('## Routes'), text.indexOf('\n## ', text.indexOf('## Routes') + 1));
    const rows = section
      .split('\n')
      .filter((line) => /^\| (GET|POST|PATCH|DELETE|PUT) /.test(line))
      .map((line) => line.split('|').map((cell) => cell.trim()));
    const documented = new Map<string, { scopes: string[]; status: number }>();
    for (const [, method, path, scopes, status] of rows) {
      const bare = path!.replace(/`/g, '');
      const paths = bare.includes('(s)') ? [bare.replace('(s)', ''), bare.replace('(s)', 's')] : [bare];
      const listed = scopes === 'any valid key' ? [] : [...scopes!.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
      for (const one of paths) documented.set(`${method} ${one}`, { scopes: listed, status: Number(status) });
    }
    const routes = new Map(ROUTES.map((route) => [routeKey(route), route]));
    expect([...documented.keys()].sort()).toEqual([...routes.keys()].sort());
    for (const [key, route] of routes) {
      expect([key, documented.get(key)!.scopes]).toEqual([key, [...requirementOf(route)]]);
      if (coveredElsewhere(route)) continue;
      const successes = new Set(
        seen.filter((answer) => answer.key === key && answer.status < 300).map((a) => a.status),
      );
      expect([key, [...successes]]).toEqual([key, [documented.get(key)!.status]]);
    }
  });
});

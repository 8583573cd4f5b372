/**
 * Nango's connection routes over a `ConnectionManager`. Each route names the scope it needs; the
 * handler checks it (access.ts) before the route runs, and every connection a route answers with
 * goes through {@link present}, which drops credentials for callers that may not read them.
 */
import type { ConnectionManager } from '../manager.js';
import type { ConnectionFull, EndUser, JsonObject } from '../model/connection.js';
import type { CreateConnectionInput } from '../model/inputs.js';
import { type ApiScope, type Caller, mayReadCredentials } from './access.js';
import { ApiFailure, json } from './respond.js';
import {
  jsonBody,
  listFilter,
  listQuery,
  queryBoolean,
  requiredQuery,
  requireObject,
  requireString,
} from './request.js';

export interface RouteContext {
  manager: ConnectionManager;
  request: Request;
  url: URL;
  caller: Caller;
  /** Path parameters: `connectionId` where the route has one. */
  params: Record<string, string>;
  maxBodyBytes: number;
}

export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path segments after the base path; `:name` matches one segment. */
  path: string[];
  /** The scope a key needs. */
  scope: ApiScope;
  run(ctx: RouteContext): Promise<Response>;
}

const READ: ApiScope = 'environment:connections:read';
const READ_CREDENTIALS: ApiScope = 'environment:connections:read_credentials';
const CREATE: ApiScope = 'environment:connections:create';
const UPDATE: ApiScope = 'environment:connections:update';
const DELETE: ApiScope = 'environment:connections:delete';

/** A connection as this caller may see it: without `credentials` unless it holds the credential scope. */
function present(connection: ConnectionFull, caller: Caller): Record<string, unknown> {
  if (mayReadCredentials(caller)) return connection as unknown as Record<string, unknown>;
  const { credentials: _withheld, connection_config: _config, ...rest } = connection;
  return rest;
}

async function getConnection({ manager, url, params, caller }: RouteContext): Promise<Response> {
  const connection = await manager.get(params.connectionId!, {
    providerConfigKey: requiredQuery(url, 'provider_config_key'),
    forceRefresh: queryBoolean(url, 'force_refresh'),
    refreshToken: queryBoolean(url, 'refresh_token'),
  });
  // Accepted and ignored: GitHub App JWTs are minted fresh on every get.
  queryBoolean(url, 'refresh_github_app_jwt_token');
  return json(200, present(connection, caller));
}

/** Connections per page when a `page` is asked for without a `limit`. */
const DEFAULT_PAGE = 100;

async function listConnections({ manager, url }: RouteContext): Promise<Response> {
  const query = listQuery(url);
  const { filter, unsupported } = listFilter(query);
  if (query.page !== undefined && filter.limit === undefined) filter.limit = DEFAULT_PAGE;
  if (unsupported.length > 0) {
    throw new ApiFailure(
      400,
      'unsupported_filter',
      `This server cannot filter connections by ${unsupported.join(', ')} yet.`,
    );
  }
  if (query.page !== undefined && query.page > 0 && query.cursor !== undefined) {
    throw new ApiFailure(400, 'invalid_query_params', 'Give either page or cursor, not both.');
  }
  let page = await manager.list(filter);
  // Nango's page numbers (0-based), walked with the store's cursors: page N costs N + 1 pages.
  for (let number = 0; number < (query.page ?? 0); number++) {
    if (!page.nextCursor) return json(200, { connections: [] });
    page = await manager.list({ ...filter, limit: filter.limit ?? DEFAULT_PAGE, cursor: page.nextCursor });
  }
  return json(200, { connections: page.connections, ...(page.nextCursor && { next_cursor: page.nextCursor }) });
}

async function createConnection({ manager, request, caller, maxBodyBytes }: RouteContext): Promise<Response> {
  const body = await jsonBody(request, maxBodyBytes);
  const input: CreateConnectionInput = {
    connectionId:
      body.connection_id === undefined ? crypto.randomUUID() : requireString(body.connection_id, 'connection_id'),
    providerConfigKey: requireString(body.provider_config_key, 'provider_config_key'),
    credentials: requireObject(body.credentials, 'credentials'),
  };
  if (body.connection_config !== undefined)
    input.connectionConfig = requireObject(body.connection_config, 'connection_config');
  if (body.metadata !== undefined && body.metadata !== null) input.metadata = requireObject(body.metadata, 'metadata');
  if (body.tags !== undefined) input.tags = requireObject(body.tags, 'tags') as Record<string, string>;
  if (body.end_user !== undefined) input.endUser = requireObject(body.end_user, 'end_user') as unknown as EndUser;
  const connection = await manager.upsert(input);
  return json(201, present(connection, caller));
}

async function deleteConnection({ manager, url, params }: RouteContext): Promise<Response> {
  await manager.delete({
    connectionId: params.connectionId!,
    providerConfigKey: requiredQuery(url, 'provider_config_key'),
  });
  return json(200, { success: true });
}

async function patchConnection({ manager, url, params, request, maxBodyBytes }: RouteContext): Promise<Response> {
  const ref = { connectionId: params.connectionId!, providerConfigKey: requiredQuery(url, 'provider_config_key') };
  const body = await jsonBody(request, maxBodyBytes);
  const unknown = Object.keys(body).filter((key) => key !== 'tags');
  if (unknown.length > 0) {
    throw new ApiFailure(400, 'invalid_body', `This server can change only tags here, not ${unknown.join(', ')}.`);
  }
  if (body.tags !== undefined) await manager.setTags(ref, requireObject(body.tags, 'tags') as Record<string, string>);
  return json(200, { success: true });
}

/** `POST`/`PATCH /connections/metadata`: `{ connection_id: id | id[], provider_config_key, metadata }`. */
function bulkMetadata(mode: 'set' | 'update') {
  return async ({ manager, request, maxBodyBytes }: RouteContext): Promise<Response> => {
    const body = await jsonBody(request, maxBodyBytes);
    const providerConfigKey = requireString(body.provider_config_key, 'provider_config_key');
    const metadata = requireObject(body.metadata, 'metadata');
    const ids = Array.isArray(body.connection_id)
      ? body.connection_id.map((id, index) => requireString(id, `connection_id[${index}]`))
      : [requireString(body.connection_id, 'connection_id')];
    if (ids.length === 0 || ids.length > 1000) {
      throw new ApiFailure(400, 'invalid_body', 'connection_id must name 1 to 1000 connections.');
    }
    // All must exist before any changes, as Nango checks: an unknown id changes nothing.
    for (const connectionId of ids) {
      const { connections } = await manager.list({ connectionId, providerConfigKey });
      if (connections.length === 0) {
        throw new ApiFailure(
          404,
          'unknown_connection',
          `No connection "${connectionId}" for integration "${providerConfigKey}"`,
        );
      }
    }
    for (const connectionId of ids) await writeMetadata(manager, mode, { connectionId, providerConfigKey }, metadata);
    return json(200, { connection_id: body.connection_id, provider_config_key: providerConfigKey, metadata });
  };
}

/** The older `POST`/`PATCH /connection/:id/metadata`: the body is the metadata, the key in `Provider-Config-Key`. */
function singleMetadata(mode: 'set' | 'update') {
  return async ({ manager, request, url, params, maxBodyBytes }: RouteContext): Promise<Response> => {
    const providerConfigKey = request.headers.get('provider-config-key') ?? requiredQuery(url, 'provider_config_key');
    const metadata = await jsonBody(request, maxBodyBytes);
    const ref = { connectionId: params.connectionId!, providerConfigKey };
    await writeMetadata(manager, mode, ref, metadata);
    return json(200, { connection_id: ref.connectionId, provider_config_key: providerConfigKey, metadata });
  };
}

async function writeMetadata(
  manager: ConnectionManager,
  mode: 'set' | 'update',
  ref: { connectionId: string; providerConfigKey: string },
  metadata: JsonObject,
): Promise<void> {
  if (mode === 'set') await manager.setMetadata(ref, metadata);
  else await manager.updateMetadata(ref, metadata);
}

/** Both spellings Nango has used: `/connection` (the seeds) and `/connections` (current). */
function both(route: Omit<Route, 'path'> & { path: string[] }): Route[] {
  const [, ...rest] = route.path;
  return [
    { ...route, path: ['connection', ...rest] },
    { ...route, path: ['connections', ...rest] },
  ];
}

/** Order matters: `metadata` is matched before `:connectionId`. */
export const ROUTES: Route[] = [
  ...both({ method: 'GET', path: ['connections'], scope: READ, run: listConnections }),
  ...both({ method: 'POST', path: ['connections'], scope: CREATE, run: createConnection }),
  ...both({ method: 'POST', path: ['connections', 'metadata'], scope: UPDATE, run: bulkMetadata('set') }),
  ...both({ method: 'PATCH', path: ['connections', 'metadata'], scope: UPDATE, run: bulkMetadata('update') }),
  ...both({ method: 'GET', path: ['connections', ':connectionId'], scope: READ_CREDENTIALS, run: getConnection }),
  ...both({ method: 'DELETE', path: ['connections', ':connectionId'], scope: DELETE, run: deleteConnection }),
  ...both({ method: 'PATCH', path: ['connections', ':connectionId'], scope: UPDATE, run: patchConnection }),
  ...both({
    method: 'POST',
    path: ['connections', ':connectionId', 'metadata'],
    scope: UPDATE,
    run: singleMetadata('set'),
  }),
  ...both({
    method: 'PATCH',
    path: ['connections', ':connectionId', 'metadata'],
    scope: UPDATE,
    run: singleMetadata('update'),
  }),
];

/** The route for these segments: a match, a path known under other methods (405), or none (404). */
export function matchRoute(
  method: string,
  segments: string[],
): { route: Route; params: Record<string, string> } | { wrongMethod: string[] } | undefined {
  const allowed: string[] = [];
  for (const route of ROUTES) {
    if (route.path.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = route.path.every((part, index) => {
      if (part.startsWith(':')) {
        params[part.slice(1)] = segments[index]!;
        return true;
      }
      return part === segments[index];
    });
    if (!matches) continue;
    if (route.method === method) return { route, params };
    if (!allowed.includes(route.method)) allowed.push(route.method);
  }
  // The methods the path takes, for the 405's Allow header (RFC 9110 §15.5.6).
  return allowed.length > 0 ? { wrongMethod: allowed } : undefined;
}

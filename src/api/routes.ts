/**
 * Nango's connection routes over a `ConnectionManager`. Each route names the scope it needs; the
 * handler checks it (access.ts) before the route runs, and every connection a route answers with
 * goes through {@link present}, which drops credentials for callers that may not read them.
 */
import type { ConnectionManager } from '../manager.js';
import type { ConnectionFull, JsonObject } from '../model/connection.js';
import type { CreateConnectionInput, ListConnectionsFilter } from '../model/inputs.js';
import { type ApiScope, type Caller, mayReadCredentials } from './access.js';
import { importedCredentials, readConnection, requireIntegration } from './connection-answers.js';
import { getIntegration, getProvider, listIntegrations, listProviders } from './integrations-routes.js';
import { proxyRequest } from './proxy-route.js';
import { ApiFailure, json } from './respond.js';
import type { Route, RouteContext } from './route.js';
import { jsonBody, readBody, readQuery } from './request.js';
import { CONNECT_SESSION_ROUTES } from './connect-session-routes.js';
import { CREDENTIAL_ROUTES } from './credential-routes.js';
import { AUTH_ROUTES } from './auth-routes.js';
import { CONNECT_UI_ROUTES } from './connect-ui-routes.js';
import { CLIENT_METADATA_ROUTES } from './client-metadata-route.js';
import {
  BulkMetadataBody,
  ConnectionRefQuery,
  DeleteConnectionQuery,
  CreateConnectionBody,
  DEFAULT_LIST_LIMIT,
  EmptyQuery,
  GetConnectionQuery,
  GetIntegrationQuery,
  ListConnectionsQuery,
  MAX_PAGE_OFFSET,
  MetadataBody,
  OptionalRefQuery,
  PatchConnectionBody,
  ProvidersQuery,
} from './schemas.js';

export type { Route, RouteContext } from './route.js';

const LIST: ApiScope = 'environment:connections:list';
const LIST_CREDENTIALS: ApiScope = 'environment:connections:list_credentials';
const READ: ApiScope = 'environment:connections:read';
const READ_CREDENTIALS: ApiScope = 'environment:connections:read_credentials';
const CREATE: ApiScope = 'environment:connections:create';
const UPDATE: ApiScope = 'environment:connections:update';
const DELETE: ApiScope = 'environment:connections:delete';

/** A connection as this caller may see it: without `credentials` unless it holds the credential scope. */
function present(connection: ConnectionFull, caller: Caller): Record<string, unknown> {
  if (mayReadCredentials(caller)) return { ...connection };
  const { credentials: _withheld, connection_config: _config, ...rest } = connection;
  return rest;
}

async function listConnections({ manager, url }: RouteContext): Promise<Response> {
  const query = readQuery(url, ListConnectionsQuery);
  if (query.endUserOrganizationId !== undefined) {
    // The store does not index an end user's organization; a dropped filter would widen the answer.
    throw new ApiFailure(
      400,
      'unsupported_filter',
      'This server cannot filter connections by endUserOrganizationId yet.',
    );
  }
  if (query.page !== undefined && query.page > 0 && query.cursor !== undefined) {
    throw new ApiFailure(400, 'invalid_query_params', 'Give either page or cursor, not both.');
  }
  if (query.expiring === true && (query.search !== undefined || query.cursor !== undefined)) {
    // The expiring list is read from the attention index, which neither searches nor pages.
    throw new ApiFailure(400, 'invalid_query_params', 'expiring cannot be combined with search or cursor.');
  }
  // Never everything in one answer: without a limit, one page of the default size and its next_cursor.
  const limit = query.limit ?? DEFAULT_LIST_LIMIT;
  const page = query.page ?? 0;
  if (page * limit > MAX_PAGE_OFFSET) {
    throw new ApiFailure(
      400,
      'invalid_query_params',
      `Query parameters page and limit skip ${page * limit} connections; at most ${MAX_PAGE_OFFSET} are walked: follow next_cursor instead.`,
    );
  }
  // Newest first, as Nango lists them.
  const filter: ListConnectionsFilter = { limit, order: 'newest' };
  const connectionId = query.connectionId ?? query.connection_id;
  if (connectionId !== undefined) filter.connectionId = connectionId;
  const integrationIds = (query.integrationId ?? query.provider_config_key)?.split(',').filter(Boolean) ?? [];
  if (integrationIds.length > 0) filter.providerConfigKeys = integrationIds;
  if (query.tags !== undefined) filter.tags = query.tags;
  if (query.endUserId !== undefined) filter.endUserId = query.endUserId;
  if (query.search !== undefined) filter.search = query.search;
  if (query.cursor !== undefined) filter.cursor = query.cursor;
  if (query.expiring !== undefined) filter.expiring = query.expiring;
  let answer = await manager.list(filter);
  // Nango's page numbers (0-based), walked with the store's cursors: page N costs N + 1 pages.
  for (let number = 0; number < page; number++) {
    if (!answer.nextCursor) return json(200, { connections: [] });
    answer = await manager.list({ ...filter, cursor: answer.nextCursor });
  }
  return json(200, { connections: answer.connections, ...(answer.nextCursor && { next_cursor: answer.nextCursor }) });
}

async function createConnection({ manager, request, caller, maxBodyBytes }: RouteContext): Promise<Response> {
  const body = readBody(await jsonBody(request, maxBodyBytes), CreateConnectionBody);
  const integration = requireIntegration(manager, body.provider_config_key);
  const { credentials, connectionConfig } = importedCredentials(integration, body.credentials, body.connection_config);
  const input: CreateConnectionInput = {
    connectionId: body.connection_id ?? crypto.randomUUID(),
    providerConfigKey: body.provider_config_key,
    credentials,
  };
  if (connectionConfig !== undefined) input.connectionConfig = connectionConfig;
  if (body.metadata != null) input.metadata = body.metadata;
  if (body.tags !== undefined) input.tags = body.tags;
  if (body.end_user !== undefined) input.endUser = body.end_user;
  const connection = await manager.upsert(input);
  if (body.webhook_url_override) {
    const ref = { connectionId: connection.connection_id, providerConfigKey: connection.provider_config_key };
    await manager.updateConnection(ref, { webhookUrlOverride: body.webhook_url_override });
  }
  return json(201, present(connection, caller));
}

async function deleteConnection({ manager, url, params }: RouteContext): Promise<Response> {
  const query = readQuery(url, DeleteConnectionQuery);
  const ref = { connectionId: params.connectionId!, providerConfigKey: query.provider_config_key };
  await manager.delete(ref, query.revoke === undefined ? {} : { revoke: query.revoke });
  return json(200, { success: true });
}

async function patchConnection({ manager, url, params, request, maxBodyBytes }: RouteContext): Promise<Response> {
  const query = readQuery(url, ConnectionRefQuery);
  const ref = { connectionId: params.connectionId!, providerConfigKey: query.provider_config_key };
  const body = readBody(await jsonBody(request, maxBodyBytes), PatchConnectionBody);
  requireIntegration(manager, ref.providerConfigKey);
  await manager.updateConnection(ref, {
    ...(body.tags !== undefined && { tags: body.tags }),
    ...(body.end_user !== undefined && { endUser: body.end_user }),
    // Nango: an empty string clears the override.
    ...(body.webhook_url_override !== undefined && { webhookUrlOverride: body.webhook_url_override || null }),
  });
  return json(200, { success: true });
}

/** `POST`/`PATCH /connections/metadata`: `{ connection_id: id | id[], provider_config_key, metadata }`. */
function bulkMetadata(mode: 'set' | 'update') {
  return async ({ manager, request, maxBodyBytes }: RouteContext): Promise<Response> => {
    const body = readBody(await jsonBody(request, maxBodyBytes), BulkMetadataBody);
    const { provider_config_key: providerConfigKey, metadata } = body;
    const ids = Array.isArray(body.connection_id) ? body.connection_id : [body.connection_id];
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
    // Nango answers a replacement 201 and a merge 200.
    return json(mode === 'set' ? 201 : 200, {
      connection_id: body.connection_id,
      provider_config_key: providerConfigKey,
      metadata,
    });
  };
}

/** The older `POST`/`PATCH /connection/:id/metadata`: the body is the metadata, the key in `Provider-Config-Key`. */
function singleMetadata(mode: 'set' | 'update') {
  return async ({ manager, request, url, params, maxBodyBytes }: RouteContext): Promise<Response> => {
    const query = readQuery(url, OptionalRefQuery);
    const providerConfigKey = request.headers.get('provider-config-key') ?? query.provider_config_key;
    if (providerConfigKey === undefined) {
      throw new ApiFailure(400, 'invalid_query_params', 'Query parameter provider_config_key is required.');
    }
    const metadata = readBody(await jsonBody(request, maxBodyBytes), MetadataBody);
    const ref = { connectionId: params.connectionId!, providerConfigKey };
    await writeMetadata(manager, mode, ref, metadata);
    return json(mode === 'set' ? 201 : 200, {
      connection_id: ref.connectionId,
      provider_config_key: providerConfigKey,
      metadata,
    });
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
  ...both({
    method: 'GET',
    path: ['connections'],
    scope: LIST,
    orScopes: [LIST_CREDENTIALS],
    summary: 'List connections (without credentials), a page at a time',
    query: ListConnectionsQuery,
    run: listConnections,
  }),
  ...both({
    method: 'POST',
    path: ['connections'],
    scope: CREATE,
    summary: 'Create or replace a connection with the given credentials',
    body: CreateConnectionBody,
    run: createConnection,
  }),
  ...both({
    method: 'POST',
    path: ['connections', 'metadata'],
    scope: UPDATE,
    summary: 'Replace the metadata of one or more connections',
    body: BulkMetadataBody,
    run: bulkMetadata('set'),
  }),
  ...both({
    method: 'PATCH',
    path: ['connections', 'metadata'],
    scope: UPDATE,
    summary: 'Merge into the metadata of one or more connections',
    body: BulkMetadataBody,
    run: bulkMetadata('update'),
  }),
  ...both({
    method: 'GET',
    path: ['connections', ':connectionId'],
    scope: READ,
    orScopes: [READ_CREDENTIALS],
    summary:
      'Get a connection: with fresh credentials for environment:connections:read_credentials, else as stored without them',
    query: GetConnectionQuery,
    run: readConnection,
  }),
  ...both({
    method: 'DELETE',
    path: ['connections', ':connectionId'],
    scope: DELETE,
    summary: 'Delete a connection and revoke its grant at the provider (revoke=false to keep it)',
    query: DeleteConnectionQuery,
    run: deleteConnection,
  }),
  ...both({
    method: 'PATCH',
    path: ['connections', ':connectionId'],
    scope: UPDATE,
    summary: "Change a connection's tags, end user or webhook URL override",
    query: ConnectionRefQuery,
    body: PatchConnectionBody,
    run: patchConnection,
  }),
  ...both({
    method: 'POST',
    path: ['connections', ':connectionId', 'metadata'],
    scope: UPDATE,
    summary: "Replace a connection's metadata (integration in the Provider-Config-Key header)",
    query: OptionalRefQuery,
    body: MetadataBody,
    run: singleMetadata('set'),
  }),
  ...both({
    method: 'PATCH',
    path: ['connections', ':connectionId', 'metadata'],
    scope: UPDATE,
    summary: "Merge into a connection's metadata (integration in the Provider-Config-Key header)",
    query: OptionalRefQuery,
    body: MetadataBody,
    run: singleMetadata('update'),
  }),
  {
    method: 'GET',
    path: ['integrations'],
    scope: 'environment:integrations:list',
    orScopes: ['environment:integrations:list_credentials'],
    summary: 'List the configured integrations (never their secrets)',
    query: EmptyQuery,
    run: listIntegrations,
  },
  {
    method: 'GET',
    path: ['integrations', ':uniqueKey'],
    scope: 'environment:integrations:read',
    orScopes: ['environment:integrations:read_credentials'],
    summary:
      'Get a configured integration; include=credentials adds its secrets for environment:integrations:read_credentials',
    query: GetIntegrationQuery,
    run: getIntegration,
  },
  {
    method: 'GET',
    path: ['providers'],
    scope: null,
    summary: 'List the providers: the built-in catalog and those the integrations use',
    query: ProvidersQuery,
    run: listProviders,
  },
  {
    method: 'GET',
    path: ['providers', ':provider'],
    scope: null,
    summary: 'Get a provider',
    query: EmptyQuery,
    run: getProvider,
  },
  ...CONNECT_SESSION_ROUTES,
  ...CONNECT_UI_ROUTES,
  ...CLIENT_METADATA_ROUTES,
  ...CREDENTIAL_ROUTES,
  ...AUTH_ROUTES,
  ...(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const).map((method): Route => ({
    method,
    path: ['proxy', ':path*'],
    scope: 'environment:proxy',
    summary: "Send a request to the provider's API with the connection's credentials (Nango's proxy headers)",
    anyBody: true,
    run: proxyRequest,
  })),
];

/** The route for these segments: a match, a path known under other methods (405), or none (404). */
export function matchRoute(
  method: string,
  segments: string[],
): { route: Route; params: Record<string, string> } | { wrongMethod: string[] } | undefined {
  let allowed: string[] | undefined;
  // Plain loops over a table worked out once: this runs on every request.
  for (const { route, rest, literal } of TABLE) {
    if (rest ? segments.length < route.path.length : route.path.length !== segments.length) continue;
    // Literal segments first, without allocating: most routes are ruled out here.
    let same = true;
    for (let index = 0; index < literal.length; index++) {
      const part = literal[index];
      if (part !== undefined && part !== segments[index]) {
        same = false;
        break;
      }
    }
    if (!same) continue;
    if (route.method !== method) {
      allowed ??= [];
      if (!allowed.includes(route.method)) allowed.push(route.method);
      continue;
    }
    const params: Record<string, string> = {};
    const last = route.path.length - 1;
    for (let index = 0; index <= last; index++) {
      const part = route.path[index]!;
      if (rest && index === last) params[part.slice(1, -1)] = segments.slice(index).map(pathSegment).join('/');
      else if (literal[index] === undefined) params[part.slice(1)] = segments[index]!;
    }
    return { route, params };
  }
  // The methods the path takes, for the 405's Allow header (RFC 9110 §15.5.6).
  return allowed === undefined ? undefined : { wrongMethod: allowed };
}

/** Each route with what matching reads of it: a last `:name*`, and its literal segments (parameters undefined). */
const TABLE = ROUTES.map((route) => ({
  route,
  rest: route.path.at(-1)?.endsWith('*') === true,
  literal: route.path.map((part) => (part.startsWith(':') ? undefined : part)),
}));

/** A decoded segment encoded again, keeping RFC 3986's path characters (`:`, `@`, `,`…) as they are. */
function pathSegment(segment: string): string {
  return segment.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@]/gu, (character) => encodeURIComponent(character));
}

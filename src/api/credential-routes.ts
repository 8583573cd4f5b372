/**
 * The routes `@nangohq/frontend` posts submitted credentials to with a connect session
 * (`/api-auth/api-key/:key`, `/api-auth/basic/:key`, `?connect_session_token=…`). The session
 * decides: the server picks the connection id (a UUID, or the reconnect session's connection),
 * the integration must be one the session allows, the connection gets the session's end user and
 * tags. The credentials are proven as `manager.connect` proves them, then stored.
 */
import { randomUUID } from 'node:crypto';
import * as v from 'valibot';
import type { ConnectionManager } from '../manager.js';
import type { JsonObject } from '../model/connection.js';
import { InvalidConnectSessionError } from '../model/errors.js';
import type { ApiScope, Caller } from './access.js';
import { ApiFailure, json } from './respond.js';
import { jsonBody, readBody } from './request.js';

export interface RouteContext {
  manager: ConnectionManager;
  request: Request;
  url: URL;
  caller: Caller;
  params: Record<string, string>;
  maxBodyBytes: number;
}

export interface CredentialRoute {
  method: 'POST';
  path: string[];
  scope: ApiScope;
  auth: 'connect-session-query';
  summary: string;
  body?: v.GenericSchema;
  run(ctx: RouteContext): Promise<Response>;
}

/** What the SDK posts for an API key (`{apiKey}`); Nango's body, strict. */
const ApiKeyBody = v.strictObject({ apiKey: v.pipe(v.string(), v.minLength(1, 'must not be empty')) });
/** What the SDK posts for Basic (`{username, password}`). */
const BasicBody = v.strictObject({
  username: v.pipe(v.string(), v.minLength(1, 'must not be empty')),
  password: v.optional(v.string()),
});

/**
 * A route handler that stores what `credentialsOf` makes of the checked body, for the session's
 * end user, under an id the server picks. Shared by auth-routes.ts.
 */
export function connectWith(credentialsOf: (body: JsonObject) => JsonObject, schema: v.GenericSchema | undefined) {
  return async (ctx: RouteContext): Promise<Response> => {
    const token = ctx.caller.sessionToken;
    if (token === undefined) throw new InvalidConnectSessionError('format');
    const session = await ctx.manager.connectSessions.get(token);
    const providerConfigKey = ctx.params.providerConfigKey!;
    if (ctx.url.searchParams.has('connection_id')) {
      // Nango's rule: with a session the server chooses the id (its issue #759).
      throw new ApiFailure(400, 'invalid_query_params', 'connection_id is forbidden when using a session token.');
    }
    if (session.allowedIntegrations && !session.allowedIntegrations.includes(providerConfigKey)) {
      throw new ApiFailure(400, 'integration_not_allowed', 'This session does not allow this integration.');
    }
    const body = schema ? (readBody(await jsonBody(ctx.request, ctx.maxBodyBytes), schema) as JsonObject) : {};
    const connectionConfig: JsonObject = {
      ...((session.integrationsConfigDefaults?.[providerConfigKey]?.connection_config ?? {}) as JsonObject),
    };
    for (const [name, value] of ctx.url.searchParams) {
      const field = /^params\[(.+)\]$/.exec(name)?.[1];
      if (field) connectionConfig[field] = value;
    }
    const connectionId = session.reconnect?.connectionId ?? randomUUID();
    await ctx.manager.connect({
      connectionId,
      providerConfigKey,
      credentials: credentialsOf(body),
      connectionConfig,
      endUser: session.endUser,
      tags: session.tags,
    });
    return json(200, { connectionId, providerConfigKey });
  };
}

/** Registered in routes.ts. */
export const CREDENTIAL_ROUTES: CredentialRoute[] = [
  {
    method: 'POST',
    path: ['api-auth', 'api-key', ':providerConfigKey'],
    scope: 'environment:connect_sessions:write',
    auth: 'connect-session-query',
    summary: 'Create a connection from an API key an end user submitted (connect_session_token in the query)',
    body: ApiKeyBody,
    run: connectWith((body) => ({ type: 'API_KEY', apiKey: String(body.apiKey) }), ApiKeyBody),
  },
  {
    method: 'POST',
    path: ['api-auth', 'basic', ':providerConfigKey'],
    scope: 'environment:connect_sessions:write',
    auth: 'connect-session-query',
    summary:
      'Create a connection from a user name and password an end user submitted (connect_session_token in the query)',
    body: BasicBody,
    run: connectWith(
      (body) => ({ type: 'BASIC', username: String(body.username), password: String(body.password ?? '') }),
      BasicBody,
    ),
  },
];

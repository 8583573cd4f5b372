/**
 * Nango's four connect-session routes. The backend creates a session with its secret key (scope
 * `environment:connect_sessions:write`) and hands the token to the browser; the browser reads and
 * ends it with the token itself as its Bearer credential.
 */
import type * as v from 'valibot';
import type { ConnectionManager } from '../manager.js';
import type { ConnectSession } from '../model/connect-session.js';
import { ConnectSessionBody, ReconnectSessionBody } from '../model/connect-session-schema.js';
import { InvalidConnectSessionError } from '../model/errors.js';
import { json } from './respond.js';
import { jsonBody } from './request.js';
import type { ApiScope, Caller } from './access.js';

/** What these routes read of routes.ts's `RouteContext` (not imported from there: routes.ts registers these). */
interface RouteContext {
  manager: ConnectionManager;
  request: Request;
  url: URL;
  caller: Caller;
  maxBodyBytes: number;
}

/** One entry of routes.ts's route table, which checks that these fit it. */
interface SessionRoute {
  method: 'GET' | 'POST' | 'DELETE';
  path: string[];
  scope: ApiScope;
  auth?: 'connect-session';
  summary: string;
  body?: v.GenericSchema;
  run(ctx: RouteContext): Promise<Response>;
}

const WRITE: ApiScope = 'environment:connect_sessions:write';

/**
 * Where the Connect UI would take the session (Nango's `connect_link`): this server's
 * `/connect/ui/` with the token, under the same base path as the route that was called.
 */
function connectLink(url: URL, token: string): string {
  const base = url.pathname.replace(/\/connect\/sessions(\/reconnect)?\/?$/, '');
  const link = new URL(`${base}/connect/ui/`, url.origin);
  link.searchParams.set('session_token', token);
  return link.href;
}

async function postSession({ manager, request, url, maxBodyBytes }: RouteContext): Promise<Response> {
  const body = await jsonBody(request, maxBodyBytes);
  // The manager checks the body against Nango's schema: a bad field is a 400 naming it.
  const created = await manager.connectSessions.create(body as never);
  return json(201, {
    data: { token: created.token, connect_link: connectLink(url, created.token), expires_at: created.expires_at },
  });
}

async function postReconnect({ manager, request, url, maxBodyBytes }: RouteContext): Promise<Response> {
  const body = await jsonBody(request, maxBodyBytes);
  const created = await manager.connectSessions.reconnect(body as never);
  return json(201, {
    data: { token: created.token, connect_link: connectLink(url, created.token), expires_at: created.expires_at },
  });
}

function tokenOf(ctx: RouteContext): string {
  if (ctx.caller.sessionToken === undefined) throw new InvalidConnectSessionError('format');
  return ctx.caller.sessionToken;
}

async function getSession(ctx: RouteContext): Promise<Response> {
  const session = await ctx.manager.connectSessions.get(tokenOf(ctx));
  return json(200, { data: presentSession(session) });
}

async function deleteSession(ctx: RouteContext): Promise<Response> {
  await ctx.manager.connectSessions.delete(tokenOf(ctx));
  return json(204, null);
}

/** Nango's `GET /connect/session` answer: the end user, what the session allows, whether it reconnects. */
function presentSession(session: ConnectSession): Record<string, unknown> {
  const user = session.endUser;
  return {
    endUser: user && {
      id: user.id,
      display_name: user.display_name ?? null,
      email: user.email ?? null,
      tags: user.tags ?? null,
      organization: user.organization
        ? { id: user.organization.id, display_name: user.organization.display_name ?? null }
        : null,
    },
    ...(session.allowedIntegrations && { allowed_integrations: session.allowedIntegrations }),
    ...(session.integrationsConfigDefaults && {
      integrations_config_defaults: Object.fromEntries(
        Object.entries(session.integrationsConfigDefaults).map(([key, value]) => [
          key,
          { connection_config: value.connection_config, authorization_params: value.authorization_params },
        ]),
      ),
    }),
    ...(session.reconnect && { isReconnecting: true }),
    ...(session.overrides && { overrides: session.overrides }),
    expires_at: new Date(session.expiresAt).toISOString(),
  };
}

/** Registered in routes.ts. */
export const CONNECT_SESSION_ROUTES: SessionRoute[] = [
  {
    method: 'POST',
    path: ['connect', 'sessions'],
    scope: WRITE,
    summary: 'Create a connect session for one end user (a 30-minute token for the browser)',
    body: ConnectSessionBody,
    run: postSession,
  },
  {
    method: 'POST',
    path: ['connect', 'sessions', 'reconnect'],
    scope: WRITE,
    summary: 'Create a connect session that may only replace the credentials of one connection',
    body: ReconnectSessionBody,
    run: postReconnect,
  },
  {
    method: 'GET',
    path: ['connect', 'session'],
    scope: WRITE,
    auth: 'connect-session',
    summary: 'The connect session behind the Bearer session token',
    run: getSession,
  },
  {
    method: 'DELETE',
    path: ['connect', 'session'],
    scope: WRITE,
    auth: 'connect-session',
    summary: 'End the connect session behind the Bearer session token',
    run: deleteSession,
  },
];

/**
 * The connect flow as `@nangohq/frontend` starts it with a connect session:
 * `GET /oauth/connect/:key?connect_session_token=…&ws_client_id=…&params[…]&authorization_params[…]&user_scope=…`.
 * The session decides, not the browser: the server picks the connection id (a UUID, or the
 * reconnect session's connection), the connection gets the session's end user and tags, and only
 * integrations the session allows may be connected. The outcome goes to the socket that started
 * the flow (through the store, whichever process holds it) and to the callback page.
 */
import { randomUUID } from 'node:crypto';
import type { ConnectionManager } from '../manager.js';
import type { ConnectionFull, JsonObject, Logger } from '../model/connection.js';
import { AuthorizationError } from '../model/errors.js';
import type { ConnectOutcome, ConnectSession } from '../model/connect-session.js';
import { callbackPage } from './callback-page.js';
import { failure } from './connect-result.js';

/** What a session flow keeps in its `appState` until the callback. */
export interface SessionAppState {
  /** The session's handle (its token's hash), checked again at the callback. */
  session: string;
  /** The socket to tell the outcome. */
  wsClientId?: string;
}

/** The parts of the connect handler's options a session flow reads. */
export interface SessionFlowOptions {
  manager: ConnectionManager;
  callbackUrl: string;
  logger?: Logger | undefined;
  /** Origins the callback page posts to besides the server's own. */
  allowedOrigins: readonly string[];
}

/** Cookie naming the last socket this browser started a flow for: a replayed callback's error goes there. */
export const SOCKET_COOKIE = 'latchkey_connect_ws';

/** Why a flow is refused before it reaches the provider, as the SDK's `error_type`. */
class Refused extends Error {
  constructor(
    readonly errorType: string,
    readonly description: string,
  ) {
    super(description);
  }
}

/**
 * Starts a session flow. Every refusal is told to the socket (when it is this session's, or an
 * unclaimed one) and shown on the page; nothing is stored.
 */
export async function startSessionConnect(
  options: SessionFlowOptions,
  url: URL,
  providerConfigKey: string,
  bind: (nonce: string, state: string) => string[],
  nonce: string,
): Promise<Response> {
  const { manager } = options;
  const token = url.searchParams.get('connect_session_token') ?? '';
  const wsClientId = url.searchParams.get('ws_client_id') ?? undefined;
  try {
    let session: ConnectSession;
    try {
      session = await manager.connectSessions.get(token);
    } catch {
      throw new Refused('invalid_connect_session', 'This connect session is invalid, expired or was ended.');
    }
    if (url.searchParams.has('connection_id')) {
      // Nango's rule since its issue #759: with a session, the server picks the id.
      throw new Refused('invalid_query_params', 'A connect session picks the connection id: connection_id is refused.');
    }
    if ([...url.searchParams.keys()].some((name) => name.startsWith('credentials['))) {
      // Bring-your-own OAuth client from the browser: no integration allows it yet.
      throw new Refused('invalid_query_params', 'This integration does not take client credentials from the browser.');
    }
    if (session.allowedIntegrations && !session.allowedIntegrations.includes(providerConfigKey)) {
      throw new Refused('integration_not_allowed', 'This connect session does not allow this integration.');
    }
    if (wsClientId !== undefined) {
      const claim = await manager.connectSessions.sockets.claim(wsClientId, token);
      if (claim !== 'claimed') {
        throw new Refused('invalid_ws_client_id', 'This connect window belongs to no open page of this session.');
      }
    }
    const defaults = session.integrationsConfigDefaults?.[providerConfigKey];
    const connectionConfig: JsonObject = { ...((defaults?.connection_config ?? {}) as JsonObject) };
    const authorizationParams: Record<string, string> = { ...defaults?.authorization_params };
    for (const [name, value] of url.searchParams) {
      const param = /^params\[(.+)\]$/.exec(name)?.[1];
      if (param) connectionConfig[param] = value;
      const authParam = /^authorization_params\[(.+)\]$/.exec(name)?.[1];
      // The SDK sends `undefined` for a parameter to drop.
      if (authParam && value === 'undefined') delete authorizationParams[authParam];
      else if (authParam) authorizationParams[authParam] = value;
    }
    const userScope = url.searchParams.get('user_scope') ?? defaults?.user_scopes;
    if (userScope) authorizationParams.user_scope = userScope;
    const appState: SessionAppState = {
      session: manager.connectSessions.refOf(token),
      ...(wsClientId !== undefined ? { wsClientId } : {}),
    };
    const { url: providerUrl, state } = await manager.authorize({
      providerConfigKey,
      connectionId: session.reconnect?.connectionId ?? randomUUID(),
      redirectUri: options.callbackUrl,
      connectionConfig,
      connectionConfigSource: 'end-user',
      authorizationParams,
      appState: { ...appState },
      browserBinding: nonce,
      // A reconnect keeps the connection's tags unless the session names some.
      ...(session.endUser ? { endUser: session.endUser } : {}),
      ...(Object.keys(session.tags).length > 0 || !session.reconnect ? { tags: session.tags } : {}),
      ...(session.webhookUrlOverride !== undefined ? { webhookUrlOverride: session.webhookUrlOverride } : {}),
    });
    const headers = new Headers({ location: providerUrl });
    for (const cookie of bind(nonce, state)) headers.append('set-cookie', cookie);
    return new Response(null, { status: 302, headers });
  } catch (error) {
    const outcome: ConnectOutcome =
      error instanceof Refused
        ? {
            message_type: 'error',
            error_type: error.errorType,
            error_desc: error.description,
            provider_config_key: providerConfigKey,
          }
        : errorOutcome(failure(options.logger, error, providerConfigKey));
    if (wsClientId !== undefined && !(error instanceof Refused && error.errorType === 'invalid_ws_client_id')) {
      await manager.connectSessions.sockets.publish(wsClientId, outcome).catch(() => false);
    }
    return callbackPage(outcome, targetOrigins(options, url));
  }
}

/** Whether a flow's `appState` is a session flow's. */
export function sessionStateOf(appState: unknown): SessionAppState | undefined {
  if (appState === null || typeof appState !== 'object') return undefined;
  const { session, wsClientId } = appState as Record<string, unknown>;
  if (typeof session !== 'string') return undefined;
  return { session, ...(typeof wsClientId === 'string' ? { wsClientId } : {}) };
}

/** The callback of a session flow that stored its connection: the socket and the page are told. */
export async function sessionSucceeded(
  options: SessionFlowOptions,
  url: URL,
  state: SessionAppState,
  connection: ConnectionFull,
): Promise<Response> {
  const outcome: ConnectOutcome = {
    message_type: 'success',
    provider_config_key: connection.provider_config_key,
    connection_id: connection.connection_id,
    is_pending: false,
  };
  if (state.wsClientId)
    await options.manager.connectSessions.sockets.publish(state.wsClientId, outcome).catch(() => false);
  return callbackPage(outcome, targetOrigins(options, url));
}

/**
 * A callback that failed: a session flow's socket is told; a callback that names no flow any more
 * (replayed, forged or expired state) is told to the socket this browser last started a flow
 * for, if that one is still waiting.
 */
export async function sessionFailed(
  options: SessionFlowOptions,
  url: URL,
  error: unknown,
  socketCookie: string | undefined,
): Promise<Response> {
  const outcome = errorOutcome(failure(options.logger, error));
  const state = error instanceof AuthorizationError ? sessionStateOf(error.appState) : undefined;
  const target = state?.wsClientId ?? socketCookie;
  if (target) await options.manager.connectSessions.sockets.publish(target, outcome).catch(() => false);
  return callbackPage(outcome, targetOrigins(options, url));
}

function errorOutcome(result: {
  error_type?: string;
  error_desc?: string;
  provider_config_key?: string;
}): ConnectOutcome {
  return {
    message_type: 'error',
    error_type: result.error_type ?? 'unknown_error',
    error_desc: result.error_desc ?? 'The connection could not be completed.',
    ...(result.provider_config_key ? { provider_config_key: result.provider_config_key } : {}),
  };
}

function targetOrigins(options: SessionFlowOptions, url: URL): string[] {
  return [...new Set([url.origin, new URL(options.callbackUrl).origin, ...options.allowedOrigins])];
}

import {
  type ClaimResult,
  type ConnectOutcome,
  CONNECT_SESSION_LIFETIME_MS,
  CONNECT_SESSION_TOKEN,
  type ConnectSession,
  type ConnectSessionInput,
  type CreatedConnectSession,
  type IntegrationDefaults,
  type ReconnectSessionInput,
} from '../model/connect-session.js';
import { ConnectSessionBody, ReconnectSessionBody } from '../model/connect-session-schema.js';
import type { Clock, EndUser } from '../model/connection.js';
import { InvalidConnectSessionError, InvalidRequestError } from '../model/errors.js';
import { parseInput } from '../model/schema.js';
import { normalizeTags } from '../model/tags.js';
import type { ResolvedIntegration } from '../providers/definition.js';
import type { ConnectionRecords } from '../store/connection-records.js';
import { connectionKey } from '../store/keys.js';
import { ConnectOutcomes } from '../store/connect-outcomes.js';
import { ConnectSessions, refOf } from '../store/connect-sessions.js';
import type { OperationContext } from './context.js';

/** What the session operations use: the sessions, the integrations, the clock, and connections for reconnects. */
export interface SessionHost {
  readonly sessions: ConnectSessions;
  readonly integrations: ReadonlyMap<string, ResolvedIntegration>;
  readonly connections: ConnectionRecords;
  readonly clock: Clock;
}

/** `manager.connectSessions.create`: Nango's body checked, integrations it names checked, a 30-minute token. */
export async function createConnectSession(
  host: SessionHost,
  input: ConnectSessionInput,
): Promise<CreatedConnectSession> {
  const body = parseInput(ConnectSessionBody, input);
  body.allowed_integrations?.forEach((key, index) => known(host, key, `allowed_integrations[${index}]`));
  const now = host.clock();
  const endUser = body.end_user ? endUserOf(body.end_user, body.organization) : null;
  const session: ConnectSession = {
    endUser,
    tags: tagsOf(endUser, body.tags),
    ...(body.allowed_integrations && { allowedIntegrations: [...new Set(body.allowed_integrations)] }),
    ...common(host, body),
    createdAt: now,
    expiresAt: now + CONNECT_SESSION_LIFETIME_MS,
  };
  return issue(host, session);
}

/**
 * `manager.connectSessions.reconnect`: a session that may only replace the credentials of one
 * existing connection (the end user repairs it), keeping that connection's end user unless the
 * body names one.
 */
export async function createReconnectSession(
  host: SessionHost,
  input: ReconnectSessionInput,
): Promise<CreatedConnectSession> {
  const body = parseInput(ReconnectSessionBody, input);
  known(host, body.integration_id, 'integration_id');
  const existing = await host.connections.read(connectionKey(body.integration_id, body.connection_id));
  if (!existing) {
    // Nango's answer: 400, not 404, since the body is what is wrong.
    throw new InvalidRequestError(
      `No connection "${body.connection_id}" for integration "${body.integration_id}"`,
      'connection_id',
    );
  }
  const now = host.clock();
  const endUser = body.end_user ? endUserOf(body.end_user, body.organization) : existing.value.end_user;
  const session: ConnectSession = {
    endUser,
    tags: tagsOf(body.end_user ? endUser : null, body.tags),
    allowedIntegrations: [body.integration_id],
    ...common(host, body),
    reconnect: { connectionId: body.connection_id, providerConfigKey: body.integration_id },
    createdAt: now,
    expiresAt: now + CONNECT_SESSION_LIFETIME_MS,
  };
  return issue(host, session);
}

/** `manager.connectSessions.get`: the session behind a token, or {@link InvalidConnectSessionError}. */
export async function getConnectSession(host: SessionHost, token: string): Promise<ConnectSession> {
  if (typeof token !== 'string') throw new InvalidConnectSessionError('format');
  const session = await host.sessions.read(token, host.clock());
  if (!session) throw sessionError(token);
  return session;
}

/** `manager.connectSessions.delete`: the token stops working at once, in every process. */
export async function deleteConnectSession(host: SessionHost, token: string): Promise<void> {
  await getConnectSession(host, token);
  await host.sessions.delete(token);
}

/**
 * `manager.connectSessions`: Nango's connect sessions as library calls, for apps that do not run
 * `latchkey serve`. A session is a short-lived token (30 minutes) an app's backend creates for one
 * end user; the browser presents it to the connect routes, and the server (not the browser) picks
 * the connection id. The token is stored only as a hash, so every process sharing the store serves it.
 */
export class ConnectSessionApi {
  readonly #host: SessionHost;
  readonly #outcomes: ConnectOutcomes;

  /** @internal Built by the manager. */
  constructor(ctx: Pick<OperationContext, 'integrations' | 'connections' | 'clock' | 'records' | 'cipher'>) {
    const { integrations, connections, clock, records, cipher } = ctx;
    this.#host = { integrations, connections, clock, sessions: new ConnectSessions(records, cipher) };
    this.#outcomes = new ConnectOutcomes(records);
  }

  /**
   * The browser sockets of connect flows (Nango's WebSocket protocol), kept in the store so the
   * process that finishes a flow reaches the socket whichever process holds it. Used by
   * `createConnectWebSocket` and the connect handler; an app rarely calls these itself.
   */
  get sockets(): ConnectSockets {
    const outcomes = this.#outcomes;
    const clock = this.#host.clock;
    return {
      register: (clientId) => outcomes.register(clientId, clock()),
      claim: (clientId, token) => outcomes.claim(clientId, token, clock()),
      publish: (clientId, outcome, token) => outcomes.publish(clientId, outcome, clock(), token),
      take: (clientId) => outcomes.take(clientId, clock()),
      forget: (clientId) => outcomes.forget(clientId, clock()),
    };
  }

  /**
   * Creates a session from Nango's `POST /connect/sessions` body (`end_user`, `allowed_integrations`,
   * `integrations_config_defaults`, `tags`, …). Bad input throws {@link InvalidRequestError} naming
   * the field; nothing is stored then.
   *
   * @example
   * ```ts
   * const { token } = await manager.connectSessions.create({ end_user: { id: user.id, email: user.email },
   *   allowed_integrations: ['github-prod'] });
   * ```
   */
  async create(input: ConnectSessionInput): Promise<CreatedConnectSession> {
    return createConnectSession(this.#host, input);
  }

  /**
   * Creates a session that may only replace the credentials of one existing connection (Nango's
   * `POST /connect/sessions/reconnect` body: `connection_id`, `integration_id`, …).
   *
   * @example
   * ```ts
   * const { token } = await manager.connectSessions.reconnect({ connection_id: 'user-42', integration_id: 'github-prod' });
   * ```
   */
  async reconnect(input: ReconnectSessionInput): Promise<CreatedConnectSession> {
    return createReconnectSession(this.#host, input);
  }

  /** The session behind a token; {@link InvalidConnectSessionError} for a malformed, unknown, expired or deleted one. */
  async get(token: string): Promise<ConnectSession> {
    return getConnectSession(this.#host, token);
  }

  /**
   * A handle on the session behind `token` that is not the token (its hash), for a flow to keep
   * until its callback; {@link getByRef} reads the session back while it stands.
   */
  refOf(token: string): string {
    return refOf(token);
  }

  /** The session a {@link refOf} handle names; {@link InvalidConnectSessionError} once it expired or was deleted. */
  async getByRef(ref: string): Promise<ConnectSession> {
    const session = await this.#host.sessions.readRef(ref, this.#host.clock());
    if (!session) throw new InvalidConnectSessionError('unknown');
    return session;
  }

  /** Ends a session: its token stops working in every process. */
  async delete(token: string): Promise<void> {
    return deleteConnectSession(this.#host, token);
  }
}

/** See {@link ConnectSessionApi.sockets}. */
export interface ConnectSockets {
  /** Records a socket just opened under `clientId` (a UUID). */
  register(clientId: string): Promise<void>;
  /** Binds the socket to the session behind `token`: `foreign` if another session's flow claimed it first, `unknown` if no such socket is open. */
  claim(clientId: string, token: string): Promise<ClaimResult>;
  /** Hands a flow's outcome to the socket (only if it is `token`'s session's, when given); whether it was. */
  publish(clientId: string, outcome: ConnectOutcome, token?: string): Promise<boolean>;
  /** The socket's outcome once there is one (then forgotten). */
  take(clientId: string): Promise<ConnectOutcome | undefined>;
  /** Forgets a closed socket. */
  forget(clientId: string): Promise<void>;
}

function sessionError(token: string): InvalidConnectSessionError {
  return new InvalidConnectSessionError(CONNECT_SESSION_TOKEN.test(token) ? 'unknown' : 'format');
}

async function issue(host: SessionHost, session: ConnectSession): Promise<CreatedConnectSession> {
  const token = await host.sessions.create(session);
  return { token, expires_at: new Date(session.expiresAt).toISOString() };
}

/** Fields both bodies share; integrations they name must exist (Nango refuses the body otherwise). */
function common(
  host: SessionHost,
  body: {
    integrations_config_defaults?: Record<string, IntegrationDefaults> | undefined;
    overrides?: Record<string, { docs_connect?: string | undefined }> | undefined;
    webhook_url_override?: string | undefined;
  },
): Partial<ConnectSession> {
  for (const key of Object.keys(body.integrations_config_defaults ?? {}))
    known(host, key, `integrations_config_defaults.${key}`);
  for (const key of Object.keys(body.overrides ?? {})) known(host, key, `overrides.${key}`);
  return {
    ...(body.integrations_config_defaults && { integrationsConfigDefaults: body.integrations_config_defaults }),
    ...(body.overrides && { overrides: body.overrides as Record<string, { docs_connect?: string }> }),
    ...(body.webhook_url_override && { webhookUrlOverride: body.webhook_url_override }),
  };
}

function known(host: SessionHost, key: string, field: string): void {
  if (!host.integrations.has(key)) throw new InvalidRequestError(`Integration "${key}" does not exist`, field);
}

function endUserOf(
  endUser: {
    id: string;
    email?: string | undefined;
    display_name?: string | undefined;
    tags?: Record<string, string> | undefined;
  },
  organization: { id: string; display_name?: string | undefined } | undefined,
): EndUser {
  return {
    id: endUser.id,
    email: endUser.email ?? null,
    display_name: endUser.display_name ?? null,
    ...(endUser.tags && { tags: endUser.tags }),
    organization: organization ? { id: organization.id, display_name: organization.display_name ?? null } : null,
  };
}

/**
 * The tags a connection made through the session gets, as Nango builds them: the end user's id,
 * email and display name (`end_user_id`, `end_user_email`, `end_user_display_name`), the
 * organization's (`organization_id`, `organization_display_name`), the end user's own tags
 * (dropped whole, as Nango drops them, when they would pass the limit of 10), then the body's
 * `tags`, which win. Checked by the tag rules now, so a session cannot be created whose
 * connections could not be stored.
 */
function tagsOf(endUser: EndUser | null, tags: Record<string, string> | undefined): Record<string, string> {
  const base: Record<string, string> = {};
  if (endUser) {
    base.end_user_id = endUser.id;
    if (endUser.email) base.end_user_email = endUser.email;
    if (endUser.display_name) base.end_user_display_name = endUser.display_name;
    if (endUser.organization?.id) base.organization_id = endUser.organization.id;
    if (endUser.organization?.display_name) base.organization_display_name = endUser.organization.display_name;
  }
  const own = endUser?.tags ? normalizeTags(endUser.tags) : {};
  const withOwn = Object.keys({ ...base, ...own }).length <= 10 ? { ...base, ...own } : base;
  return normalizeTags({ ...withOwn, ...(tags ? normalizeTags(tags) : {}) });
}

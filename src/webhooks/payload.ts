import type { AuthMode } from '../model/auth-modes.js';
import type { EndUser } from '../model/connection.js';
import type { ConnectionEventBase, ConnectionEvents } from '../model/events.js';

/**
 * The body of an auth webhook, in Nango's shape (`NangoAuthWebhookBody` in its
 * `packages/types/lib/webhooks/api.ts`), so a receiver written for Nango reads it unchanged. It
 * names the connection and what happened to it; it never carries a credential.
 */
export interface AuthWebhookBody {
  /** Who sent it: `latchkey` unless the sender's `from` option says otherwise (Nango sends `nango`). */
  from: string;
  type: 'auth';
  /**
   * `creation`: a new connection was stored; `override`: an existing one got new credentials;
   * `refresh`: its refresh failed (`success: false`) or, after failures, succeeded again
   * (`success: true`, Nango's recovery webhook). Latchkey's own: `revocation` (a deleted
   * connection's grant revoked at the provider, or not) and `expiring` (its refresh token lapses
   * soon: `error.type` is `refresh_token_expiring`).
   */
  operation: 'creation' | 'override' | 'refresh' | 'revocation' | 'expiring';
  success: boolean;
  connectionId: string;
  providerConfigKey: string;
  provider: string;
  authMode: AuthMode;
  /** The sender's `environment` option (Nango's environment name), default `prod`. */
  environment: string;
  /** The connection's tags, when it still exists. */
  tags?: Record<string, string>;
  /** The connection's end user, when it has one. */
  endUser?: {
    endUserId: string;
    endUserEmail?: string | null;
    organizationId?: string;
    tags: Record<string, string>;
  };
  /**
   * Present when `success` is false. `type` is the provider's OAuth error (`invalid_grant`) or
   * Latchkey's label (`network_error`, `server_error`…), or `refresh_exhausted` for the failure
   * that made the grant dead; `description` says it in words, with the log id.
   */
  error?: { type: string; description: string };
}

/** What a body is built from besides the event: the sender's settings and the connection as stored. */
export interface PayloadContext {
  from: string;
  environment: string;
  connection?: { tags: Record<string, string>; end_user: EndUser | null } | undefined;
}

type Subject = Pick<AuthWebhookBody, 'connectionId' | 'providerConfigKey' | 'provider' | 'authMode'>;

function base(event: ConnectionEventBase, context: PayloadContext): Omit<AuthWebhookBody, 'operation' | 'success'> {
  const subject: Subject = {
    connectionId: event.connectionId,
    providerConfigKey: event.providerConfigKey,
    provider: event.provider,
    authMode: event.authMode,
  };
  const body: Omit<AuthWebhookBody, 'operation' | 'success'> = {
    from: context.from,
    type: 'auth',
    ...subject,
    environment: context.environment,
  };
  const connection = context.connection;
  if (connection) {
    body.tags = { ...connection.tags };
    const endUser = connection.end_user;
    if (endUser) {
      body.endUser = {
        endUserId: endUser.id,
        ...(endUser.email === undefined ? {} : { endUserEmail: endUser.email }),
        ...(endUser.organization ? { organizationId: endUser.organization.id } : {}),
        tags: { ...endUser.tags },
      };
    }
  }
  return body;
}

/** `connection.created` → `creation` or `override`, successful. */
export function createdBody(event: ConnectionEvents['connection.created'], context: PayloadContext): AuthWebhookBody {
  return { ...base(event, context), operation: event.operation, success: true };
}

/**
 * `refresh.failed` → `refresh`, unsuccessful. `exhausted` marks the failure that made the grant
 * dead (the same attempt also emits `refresh.exhausted`): one webhook per failed attempt.
 */
export function refreshFailedBody(
  event: ConnectionEventBase & { logId: string; error: string; status?: number; kind?: 'permanent' | 'transient' },
  exhausted: boolean,
  context: PayloadContext,
): AuthWebhookBody {
  const status = event.status === undefined ? '' : `, HTTP ${event.status}`;
  const description = exhausted
    ? `The refresh failed (${event.error}${status}) and the grant is dead: the user must reconnect. Log id ${event.logId}.`
    : `The refresh failed (${event.error}${status}${event.kind ? `, ${event.kind}` : ''}). Log id ${event.logId}.`;
  return {
    ...base(event, context),
    operation: 'refresh',
    success: false,
    error: { type: exhausted ? 'refresh_exhausted' : event.error, description },
  };
}

/** A connection whose refreshes were failing was refreshed again → `refresh`, successful. */
export function recoveredBody(event: ConnectionEventBase, context: PayloadContext): AuthWebhookBody {
  return { ...base(event, context), operation: 'refresh', success: true };
}

/**
 * `credentials.invalid` (a health check refused the key or password) → `refresh`, unsuccessful, as
 * Nango reports a failed connection test through its refresh-failure webhook.
 */
export function credentialsInvalidBody(
  event: ConnectionEventBase & { logId: string; status: number },
  context: PayloadContext,
): AuthWebhookBody {
  return {
    ...base(event, context),
    operation: 'refresh',
    success: false,
    error: {
      type: 'invalid_credentials',
      description: `The provider refused the credentials in a health check (HTTP ${event.status}): the user must update them. Log id ${event.logId}.`,
    },
  };
}

/** `connection.revoked` → `revocation`, successful. */
export function revokedBody(event: ConnectionEventBase, context: PayloadContext): AuthWebhookBody {
  return { ...base(event, context), operation: 'revocation', success: true };
}

/** `revocation.failed` → `revocation`, unsuccessful; `queued` says whether it will be retried. */
export function revocationFailedBody(
  event: ConnectionEvents['revocation.failed'],
  context: PayloadContext,
): AuthWebhookBody {
  const status = event.status === undefined ? '' : `, HTTP ${event.status}`;
  const next = event.queued
    ? 'It will be retried.'
    : 'It will not be retried: the grant may still be alive at the provider.';
  return {
    ...base(event, context),
    operation: 'revocation',
    success: false,
    error: { type: event.error, description: `Revoking the grant failed (${event.error}${status}). ${next}` },
  };
}

/** `connection.expiring` → `expiring`: the user should reconnect before the refresh token lapses. */
export function expiringBody(event: ConnectionEvents['connection.expiring'], context: PayloadContext): AuthWebhookBody {
  return {
    ...base(event, context),
    operation: 'expiring',
    success: false,
    error: {
      type: 'refresh_token_expiring',
      description: `The refresh token lapses at ${event.refreshTokenExpiresAt} (${event.source === 'provider' ? 'as the provider stated' : 'its idle limit'}): the user should reconnect before then.`,
    },
  };
}

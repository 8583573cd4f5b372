import type { ConnectionRecord } from '../model/record.js';
import { expiringAt, refreshTokenExpiry } from '../refresh/refresh-token-expiry.js';
import { introspectToken } from '../revocation/introspect.js';
import type { OperationContext } from './context.js';

/** What `describe` says about a connection's refresh token: when it lapses, as far as is known. */
export interface RefreshTokenStatus {
  /**
   * Where the expiry comes from: the token response (`provider`), the provider's idle limit
   * (`idle-limit`), the provider's introspection endpoint (`introspection`); `unknown` when none
   * says (it may live forever or die silently); `none` without a refresh token.
   */
  expiry: 'provider' | 'idle-limit' | 'introspection' | 'unknown' | 'none';
  /** ISO 8601, when known. */
  expires_at?: string;
  /** It lapses within the manager's `expiringWithinMs` (or has lapsed): the user should reconnect soon. */
  expiring: boolean;
  /** With `introspect: true`, where the provider can tell: whether the refresh token is still active. */
  active?: boolean;
  /** In words, for a status line: `refresh token expiry unknown`, `refresh token expires 2027-…`. */
  summary: string;
}

/** What the status uses: the threshold and idle lifetimes, the clock, integrations and HTTP settings for introspection. */
export type RefreshTokenStatusHost = Pick<OperationContext, 'keepAlive' | 'clock' | 'integrations' | 'http'>;

/**
 * The refresh-token part of `describe`. With `introspect`, a token whose expiry is otherwise
 * unknown is checked at the provider's RFC 7662 endpoint where it has one (declared in the
 * definition, or its issuer's metadata); a failed check leaves the answer `unknown`.
 */
export async function refreshTokenStatus(
  ctx: RefreshTokenStatusHost,
  record: ConnectionRecord,
  introspect: boolean,
): Promise<RefreshTokenStatus> {
  const lifetime = refreshTokenExpiry(record, ctx.keepAlive.idleLifetimeDays?.(record.provider_config_key));
  if (lifetime.source === 'none') return { expiry: 'none', expiring: false, summary: 'no refresh token' };
  const threshold = ctx.keepAlive.expiringWithinMs ?? 0;
  const now = ctx.clock();
  let status: RefreshTokenStatus;
  if (lifetime.expiresAt === undefined) {
    status = { expiry: 'unknown', expiring: false, summary: 'refresh token expiry unknown' };
  } else {
    const at = new Date(lifetime.expiresAt).toISOString();
    status = {
      expiry: lifetime.source,
      expires_at: at,
      expiring: (expiringAt(lifetime, threshold) ?? Number.POSITIVE_INFINITY) <= now,
      summary: `refresh token ${lifetime.expiresAt <= now ? 'expired' : 'expires'} ${at}${lifetime.source === 'idle-limit' ? ' unless used before' : ''}`,
    };
  }
  const credentials = record.credentials;
  const integration = ctx.integrations.get(record.provider_config_key);
  if (!introspect || credentials.type !== 'OAUTH2' || !credentials.refresh_token || !integration) return status;
  try {
    const verdict = await introspectToken(
      integration,
      credentials.refresh_token,
      'refresh_token',
      { http: ctx.http, clientCertificate: integration.clientCertificate },
      {
        clientId: credentials.config_override?.client_id ?? integration.clientId,
        clientSecret: credentials.config_override?.client_secret ?? integration.clientSecret,
      },
    );
    if (!verdict) return status;
    status.active = verdict.active;
    if (!verdict.active) return { ...status, expiring: true, summary: 'refresh token inactive at the provider' };
    if (status.expiry === 'unknown' && verdict.expiresAt !== undefined) {
      const at = new Date(verdict.expiresAt).toISOString();
      return {
        expiry: 'introspection',
        expires_at: at,
        expiring: verdict.expiresAt - threshold <= now,
        active: true,
        summary: `refresh token expires ${at}`,
      };
    }
    if (status.expiry === 'unknown') status.summary = 'refresh token active; expiry unknown';
    return status;
  } catch {
    // Unreachable, refused or malformed: the check says nothing, and describe still answers.
    return status;
  }
}

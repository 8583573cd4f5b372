import type { AuthMode } from './auth-modes.js';

/** Who a connection event is about; never a credential. */
export interface ConnectionEventBase {
  connectionId: string;
  providerConfigKey: string;
  provider: string;
  authMode: AuthMode;
}

/**
 * What a manager reports, for alerting and auditing (Nango's auth webhooks, in-process). Payloads
 * carry ids, codes and log ids only: safe to log as they are.
 */
export interface ConnectionEvents {
  /** A connection was stored: `creation`, or `override` when it replaced an existing one. */
  'connection.created': ConnectionEventBase & { operation: 'creation' | 'override' };
  'connection.refreshed': ConnectionEventBase;
  'refresh.failed': ConnectionEventBase & {
    logId: string;
    error: string;
    kind: 'permanent' | 'transient';
    status?: number;
  };
  /**
   * The provider refused the app's client (`invalid_client`, `unauthorized_client`): fix the
   * integration's configuration. The connection is not exhausted.
   */
  'integration.failed': ConnectionEventBase & { logId: string; error: string };
  /** The grant is dead: prompt the user to reconnect. */
  'refresh.exhausted': ConnectionEventBase & { logId: string; error: string };
  /**
   * A connection whose refreshes were failing was refreshed again (Nango's recovery webhook):
   * clear a "reconnect" banner. `logId` is the last failure's.
   */
  'connection.recovered': ConnectionEventBase & { logId?: string; failures: number };
  /** A health check's verification request was refused (401/403): the key or password no longer works. */
  'credentials.invalid': ConnectionEventBase & { logId: string; status: number };
  /** A health check succeeded again after the credentials had been refused. */
  'credentials.valid': ConnectionEventBase;
  /** `manager.delete` removed the connection. */
  'connection.deleted': ConnectionEventBase;
  /**
   * The grant of a deleted connection was revoked at the provider: during `delete` (`attempts`
   * 1) or by a retry from the revocation queue.
   */
  'connection.revoked': ConnectionEventBase & { attempts: number };
  /**
   * Revoking a deleted connection's grant failed. `queued`: it failed for a passing reason and
   * will be retried from the store; otherwise the failure is final (`kind: 'permanent'`), and the
   * grant may still be alive at the provider.
   */
  'revocation.failed': ConnectionEventBase & {
    error: string;
    kind: 'permanent' | 'transient';
    status?: number;
    attempts: number;
    queued: boolean;
  };
  /**
   * The connection's refresh token lapses within the manager's `expiringWithinMs` (a lifetime the
   * provider stated, or its idle limit): the user should reconnect before `refreshTokenExpiresAt`.
   * Once per refresh-token expiry, across restarts and processes.
   */
  'connection.expiring': ConnectionEventBase & { refreshTokenExpiresAt: string; source: 'provider' | 'idle-limit' };
  /** One pass of the background refresher (`startBackgroundRefresh`): what it found and did. */
  'refresh.tick': BackgroundTickStats;
}

/** What one pass of the background refresher did. */
export interface BackgroundTickStats {
  /** When the pass started (the manager's clock, epoch ms). */
  startedAt: number;
  /** Connections that needed attention before the next pass. */
  due: number;
  refreshed: number;
  /** Refreshes or health checks that failed (recorded on the connection as an on-read failure is). */
  failed: number;
  /** Due connections left alone because they are backing off after failures. */
  skippedBackoff: number;
  /** Due connections another process was refreshing, or that changed meanwhile and are no longer due. */
  skippedBusy: number;
  /** Health checks that ran (whatever they found). */
  healthChecked: number;
  /** Health checks the provider refused (401/403). */
  invalid: number;
  /** Due connections left for the next pass by the provider rate limit. */
  deferred: number;
  /** How long the pass took, in real milliseconds. */
  durationMs: number;
}

/** The name of a connection event: a key of {@link ConnectionEvents}. */
export type ConnectionEventName = keyof ConnectionEvents;
/** A listener for one connection event, given to `manager.on`. */
export type ConnectionEventListener<E extends ConnectionEventName> = (event: ConnectionEvents[E]) => void;

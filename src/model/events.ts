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
}

/** The name of a connection event: a key of {@link ConnectionEvents}. */
export type ConnectionEventName = keyof ConnectionEvents;
/** A listener for one connection event, given to `manager.on`. */
export type ConnectionEventListener<E extends ConnectionEventName> = (event: ConnectionEvents[E]) => void;

/**
 * The data model, mirroring Nango's `ConnectionFull` (snake_case on purpose: code written against
 * Nango's API reads these objects unchanged).
 */

import type { Credentials } from './credentials.js';

import type { JsonObject } from './json.js';

export type { JsonObject };

/** One active problem of a connection, as Nango lists them in `errors`: data, not a thrown error. */
export interface ConnectionErrorEntry {
  type: 'auth' | 'sync';
  /** Find this id in the logs and in the `refresh.failed` event. */
  log_id: string;
}

/** The end user (and organization) a connection belongs to, as Nango records it. */
export interface EndUser {
  id: string;
  email?: string | null;
  display_name?: string | null;
  tags?: Record<string, string>;
  organization?: { id: string; display_name?: string | null } | null;
}

/** What `get` returns: Nango's `ConnectionFull`. */
export interface ConnectionFull<C extends Credentials = Credentials> {
  id: number;
  connection_id: string;
  provider_config_key: string;
  provider: string;
  errors: ConnectionErrorEntry[];
  end_user: EndUser | null;
  metadata: JsonObject;
  connection_config: JsonObject;
  tags: Record<string, string>;
  created_at: string;
  updated_at: string;
  last_fetched_at: string;
  credentials: C;
  /** Why the connection is unhealthy, if it is (never a credential). */
  status: ConnectionStatus;
}

/**
 * A connection's health, enough for a "reconnect" banner without reading credentials: the last
 * refresh failure (with its code, since when, the next automatic retry, and whether the grant is
 * dead) and the last health check's verdict.
 */
export interface ConnectionStatus {
  /** `ok`; `failing` (refreshes fail but may recover); `needs_reconnect` (exhausted, or the credentials were refused). */
  state: 'ok' | 'failing' | 'needs_reconnect';
  /** Present while refreshes fail. */
  refresh?: {
    /** The provider's error code (`invalid_grant`…) or Latchkey's (`network_error`…). */
    error: string;
    kind: 'permanent' | 'transient';
    status?: number;
    log_id: string;
    /** The first failure of this run of failures. */
    since: string;
    failures: number;
    /** No automatic refresh before this instant. */
    retry_at?: string;
    /** The grant is dead: only the user reconnecting fixes it. */
    exhausted: boolean;
  };
  /** Present once a health check ran (credentials that do not expire, with a verification request). */
  credentials_check?: {
    valid: boolean;
    checked_at: string;
    /** While invalid: since when, the provider's HTTP status, and the log id. */
    invalid_since?: string;
    status?: number;
    log_id?: string;
  };
}

/** What `list` returns per connection: no credentials, never refreshed. */
export interface ConnectionListItem {
  id: number;
  connection_id: string;
  provider: string;
  provider_config_key: string;
  created: string;
  metadata: JsonObject;
  tags: Record<string, string>;
  errors: ConnectionErrorEntry[];
  end_user: EndUser | null;
  /** Why the connection is unhealthy, if it is. */
  status: ConnectionStatus;
}

/** Milliseconds since the epoch. Injectable so tests can move time. */
export type Clock = () => number;

/** Where Latchkey reports what went wrong. Never given a secret. */
export interface Logger {
  /**
   * A problem Latchkey worked around (a lock it could not release, a timestamp it could not
   * write).
   */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** A failure that needs attention (a refresh that failed), with its `log_id`. */
  error(message: string, fields?: Record<string, unknown>): void;
}

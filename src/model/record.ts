import type { Credentials } from './credentials.js';
import type { ProviderFailureKind } from './errors.js';
import type { ConnectionErrorEntry, EndUser, JsonObject } from './connection.js';

/** A connection as stored: `ConnectionFull` plus its refresh bookkeeping. */
export interface ConnectionRecord {
  id: number;
  connection_id: string;
  provider_config_key: string;
  provider: string;
  credentials: Credentials;
  connection_config: JsonObject;
  metadata: JsonObject;
  tags: Record<string, string>;
  end_user: EndUser | null;
  errors: ConnectionErrorEntry[];
  created_at: string;
  updated_at: string;
  /** Persisted at most once a minute per connection, off the caller's path. */
  last_fetched_at: string | null;
  refresh: RefreshFailureState;
  /**
   * When Latchkey obtained the current credentials (refreshed or minted); with their expiry, their
   * lifetime, which caps the refresh margin for short-lived tokens. Absent for credentials given
   * to `create` (their issue time is unknown) and on older records.
   */
  credentials_issued_at?: string;
  /**
   * When the app last gave this connection credentials (create, upsert, connect). With
   * `credentials_issued_at`, when the grant was last exercised: what the keep-alive refresh
   * counts from. Absent on records written before it existed (`created_at` stands in).
   */
  credentials_stored_at?: string;
  /** Where this connection's webhooks go instead of the sender's URL; absent: the sender's URL. */
  webhook_url_override?: string;
  /**
   * The refresh-token expiry (ISO 8601) `connection.expiring` was emitted for: once per expiry,
   * whichever process saw it first. A later expiry (a rotated token) warns again.
   */
  refresh_token_expiring_notified?: string;
  /** The last health check of credentials that do not expire; absent until one ran. */
  health_check?: HealthCheckState;
  /**
   * Creations and overrides stored here whose webhook (written to the outbox before the change,
   * held back) is not yet released: the proof, written in the same write as the change, that the
   * change happened. Absent when none.
   */
  webhook_notices?: WebhookNotice[];
}

/** One change whose webhook waits in the outbox for proof that the change was stored. */
export interface WebhookNotice {
  /** The outbox entry's id (its `X-Latchkey-Webhook-Id`). */
  id: string;
  /** When the change was made (ISO 8601), to forget notices nobody released. */
  at: string;
}

/** Stored per connection: what the periodic verification request last said. */
export interface HealthCheckState {
  /** When the provider last gave a verdict (valid or not); absent while it never answered. */
  checked_at?: string;
  /** Set while the provider refuses the credentials (401/403): since when, and its answer. */
  invalid?: { since: string; status: number; log_id: string };
  /** After a network error or a 5xx: check again then, the verdict unchanged. */
  retry_at?: string;
  /** Consecutive checks without an answer (network errors, 5xx); sets how long `retry_at` waits. */
  transient_failures?: number;
}

/** Who an event is about: ids and mode, never a credential. */
export function subjectOf(record: ConnectionRecord) {
  return {
    connectionId: record.connection_id,
    providerConfigKey: record.provider_config_key,
    provider: record.provider,
    authMode: record.credentials.type,
  };
}

/** Stored per connection: how its refreshes have been failing. */
export interface RefreshFailureState {
  failures: number;
  exhausted: boolean;
  first_failure_at?: string;
  /** No automatic refresh before this instant. */
  retry_at?: string;
  last_error?: { error: string; kind: ProviderFailureKind; status?: number; log_id: string };
}

/** The refresh state of a connection that has not failed. */
export const healthy: RefreshFailureState = { failures: 0, exhausted: false };

import type { RefreshFailureState } from '../refresh/failure-policy.js';
import { copyJson } from './redaction.js';
import { type Credentials, strategyFor } from '../modes/registry.js';
import type { ConnectionError, ConnectionFull, ConnectionListItem, EndUser, JsonObject } from './connection.js';

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
  errors: ConnectionError[];
  created_at: string;
  updated_at: string;
  /** Persisted at most once a minute per connection, off the caller's path. */
  last_fetched_at: string | null;
  refresh: RefreshFailureState;
}

/**
 * The object `get` hands out: a copy (callers never share or mutate stored state), with every
 * refresh token removed unless asked for.
 */
export function toConnectionFull(
  record: ConnectionRecord,
  fetchedAt: number,
  includeRefreshToken: boolean,
): ConnectionFull {
  const dropRefreshTokens = !includeRefreshToken;
  return {
    id: record.id,
    connection_id: record.connection_id,
    provider_config_key: record.provider_config_key,
    provider: record.provider,
    errors: copyJson(record.errors),
    end_user: copyJson(record.end_user),
    metadata: copyJson(record.metadata),
    connection_config: copyJson(record.connection_config, dropRefreshTokens),
    tags: { ...record.tags },
    created_at: record.created_at,
    updated_at: record.updated_at,
    last_fetched_at: new Date(fetchedAt).toISOString(),
    credentials: copyJson(presented(record.credentials), dropRefreshTokens) as Credentials,
  };
}

/** What `list` returns: no credentials. */
export function toListItem(record: Omit<ConnectionRecord, 'credentials' | 'connection_config'>): ConnectionListItem {
  return {
    id: record.id,
    connection_id: record.connection_id,
    provider: record.provider,
    provider_config_key: record.provider_config_key,
    created: record.created_at,
    metadata: copyJson(record.metadata),
    tags: { ...record.tags },
    errors: copyJson(record.errors),
    end_user: copyJson(record.end_user),
  };
}

/** The credentials in the shape the seeds' schema gives their mode. */
function presented(credentials: Credentials): object {
  const present = strategyFor(credentials.type).present;
  return present ? present(credentials) : credentials;
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

import type { ConnectionFull, ConnectionListItem, ConnectionStatus } from '../model/connection.js';
import type { Credentials } from '../model/credentials.js';
import type { ConnectionRecord } from '../model/record.js';
import { copyJson, isRefreshTokenKey } from '../model/redaction.js';
import { strategyFor } from './registry.js';

let lastInstant = NaN;
let lastIso = '';

/**
 * `new Date(ms).toISOString()`, remembered for the last instant: formatting costs about as much
 * as the rest of presenting a connection, and a busy process asks for the same millisecond many
 * times over.
 */
function isoInstant(ms: number): string {
  if (ms !== lastInstant) {
    lastIso = new Date(ms).toISOString();
    lastInstant = ms;
  }
  return lastIso;
}

/**
 * The object `get` hands out: a copy (callers never share or mutate stored state), with every
 * refresh token removed unless asked for. `owned`: the record was parsed for this call alone and
 * nothing else holds it (the decrypt cache keeps text, so opened secrets are a fresh parse too):
 * its parts are handed over as they are, and only the objects a refresh token is taken out of
 * are copied.
 */
export function toConnectionFull(
  record: ConnectionRecord,
  fetchedAt: number,
  includeRefreshToken: boolean,
  owned = false,
): ConnectionFull {
  const dropRefreshTokens = !includeRefreshToken;
  return {
    id: record.id,
    connection_id: record.connection_id,
    provider_config_key: record.provider_config_key,
    provider: record.provider,
    errors: owned ? record.errors : copyJson(record.errors),
    end_user: owned ? record.end_user : copyJson(record.end_user),
    metadata: owned ? record.metadata : copyJson(record.metadata),
    connection_config: owned
      ? withoutRefreshTokensOwned(record.connection_config, dropRefreshTokens)
      : copyJson(record.connection_config, dropRefreshTokens),
    tags: owned ? record.tags : { ...record.tags },
    created_at: record.created_at,
    updated_at: record.updated_at,
    last_fetched_at: isoInstant(fetchedAt),
    credentials: (owned
      ? withoutRefreshTokensOwned(presented(record.credentials), dropRefreshTokens)
      : copyJson(presented(record.credentials), dropRefreshTokens)) as Credentials,
    status: statusOf(record),
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
    status: statusOf(record),
  };
}

/**
 * Why a connection is unhealthy, from its refresh failure state and its last health check: codes,
 * instants and log ids, never a credential.
 */
export function statusOf(record: Pick<ConnectionRecord, 'refresh' | 'health_check'>): ConnectionStatus {
  const status: ConnectionStatus = { state: 'ok' };
  const { refresh, health_check: check } = record;
  if (refresh.failures > 0 && refresh.last_error) {
    const { error, kind, status: httpStatus, log_id } = refresh.last_error;
    status.refresh = {
      error,
      kind,
      ...(httpStatus === undefined ? {} : { status: httpStatus }),
      log_id,
      since: refresh.first_failure_at ?? '',
      failures: refresh.failures,
      ...(refresh.retry_at === undefined || refresh.exhausted ? {} : { retry_at: refresh.retry_at }),
      exhausted: refresh.exhausted,
    };
    status.state = 'failing';
  }
  if (check?.checked_at !== undefined) {
    status.credentials_check = {
      valid: check.invalid === undefined,
      checked_at: check.checked_at,
      ...(check.invalid
        ? { invalid_since: check.invalid.since, status: check.invalid.status, log_id: check.invalid.log_id }
        : {}),
    };
  }
  if (refresh.exhausted || check?.invalid) status.state = 'needs_reconnect';
  return status;
}

/**
 * `value` without refresh-token keys, for data this call alone holds: the value itself when it
 * has none (or they are kept), else copies of just the objects on the way to one, sharing the rest.
 */
function withoutRefreshTokensOwned<T>(value: T, drop: boolean): T {
  if (!drop || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index];
      const kept = withoutRefreshTokensOwned(item, true);
      if (kept !== item) (copy ??= value.slice())[index] = kept;
    }
    return (copy ?? value) as T;
  }
  const source = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key in source) {
    if (!Object.hasOwn(source, key)) continue;
    if (isRefreshTokenKey(key)) {
      copy ??= copyUpTo(source, key);
      continue;
    }
    const item = source[key];
    const kept = withoutRefreshTokensOwned(item, true);
    if (copy !== undefined) copy[key] = kept;
    else if (kept !== item) (copy = copyUpTo(source, key))[key] = kept;
  }
  return (copy ?? value) as T;
}

/** The own fields of `source` that come before `stop`, as a new object. */
function copyUpTo(source: Record<string, unknown>, stop: string): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const key in source) {
    if (key === stop) break;
    if (Object.hasOwn(source, key)) copy[key] = source[key];
  }
  return copy;
}

/** The credentials in the shape the seeds' schema gives their mode. */
function presented(credentials: Credentials): object {
  const present = strategyFor(credentials.type).present;
  return present ? present(credentials) : credentials;
}

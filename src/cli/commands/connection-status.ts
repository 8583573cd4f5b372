import type { ConnectionListItem } from '../../model/connection.js';

/**
 * A connection's health for the operator commands: `ok`, `failing` or `needs_reconnect`.
 *
 * MAPPING POINT: the lifecycle work adds `status: { state, refresh?, credentials_check? }` to list
 * items. Until it lands, an active auth error (`errors`) is all there is, and reads as `failing`;
 * once it has, `status.state` is used as it is and this fallback can go.
 */
export function connectionState(item: ConnectionListItem): string {
  if ('status' in item) {
    const status = (item as { status?: { state?: unknown } }).status;
    if (typeof status?.state === 'string') return status.state;
  }
  return item.errors.some((error) => error.type === 'auth') ? 'failing' : 'ok';
}

/** The log id of the connection's active auth error, if any (find it in the logs). */
export function authLogId(item: ConnectionListItem): string | undefined {
  return item.errors.find((error) => error.type === 'auth')?.log_id;
}

import type { ConnectionListItem, ConnectionStatus } from '../../model/connection.js';

/** A connection's health for the operator commands: `ok`, `failing` or `needs_reconnect`. */
export function connectionState(item: ConnectionListItem): ConnectionStatus['state'] {
  return item.status.state;
}

/** The log id of the connection's active auth error, if any (find it in the logs). */
export function authLogId(item: ConnectionListItem): string | undefined {
  return item.errors.find((error) => error.type === 'auth')?.log_id;
}

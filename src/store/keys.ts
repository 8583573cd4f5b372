/**
 * Storage keys. Ids are URI-encoded so that a `:` inside a connection id or provider config key
 * can never make two different connections share a key.
 */
const encode = encodeURIComponent;

export const CONNECTION_PREFIX = 'connection:';

export function connectionKey(providerConfigKey: string, connectionId: string): string {
  return `${CONNECTION_PREFIX}${encode(providerConfigKey)}:${encode(connectionId)}`;
}

/** The counter that numbers connections (the schema's integer `id`). */
export const CONNECTION_SEQUENCE = 'connection';

export function refreshLockName(providerConfigKey: string, connectionId: string): string {
  return `refresh:${encode(providerConfigKey)}:${encode(connectionId)}`;
}

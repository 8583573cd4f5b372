/**
 * Storage keys. Ids are URI-encoded so that a `:` inside a connection id or provider config key
 * can never make two different connections share a key.
 */
/** What `encodeURIComponent` leaves as it is: ids made only of these are their own encoding. */
const UNRESERVED = /^[A-Za-z0-9\-_.!~*'()]*$/;

// The test is a third of the cost of encoding, and almost every id passes it (`get` makes a key on each call).
const encode = (id: string): string => (UNRESERVED.test(id) ? id : encodeURIComponent(id));

export const CONNECTION_PREFIX = 'connection:';

export function connectionKey(providerConfigKey: string, connectionId: string): string {
  return `${CONNECTION_PREFIX}${encode(providerConfigKey)}:${encode(connectionId)}`;
}

/** The counter that numbers connections (the schema's integer `id`). */
export const CONNECTION_SEQUENCE = 'connection';

export function refreshLockName(providerConfigKey: string, connectionId: string): string {
  return `refresh:${encode(providerConfigKey)}:${encode(connectionId)}`;
}

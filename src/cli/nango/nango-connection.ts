import { isAuthMode } from '../../model/auth-modes.js';
import type { EndUser } from '../../model/connection.js';
import type { CreateConnectionInput } from '../../model/inputs.js';
import type { JsonObject } from '../../model/json.js';

/** Why a Nango connection could not become a Latchkey one before Latchkey even saw it. */
export interface Unconvertible {
  reason: 'unsupported_auth_mode' | 'bad_data';
  detail: string;
}

/**
 * Nango's `ConnectionFull` (from `GET /connection/:id?refresh_token=true`) as what `upsert` takes.
 * Credentials keep Nango's field names for most modes; the modes where Nango stores something
 * Latchkey derives itself are reduced to what the user gave (see docs/migrating-from-nango.md).
 */
export function fromNangoConnection(connection: Record<string, unknown>): CreateConnectionInput | Unconvertible {
  const { connection_id, provider_config_key, credentials } = connection;
  if (typeof connection_id !== 'string' || typeof provider_config_key !== 'string') {
    return { reason: 'bad_data', detail: 'connection_id or provider_config_key missing' };
  }
  if (credentials === null || typeof credentials !== 'object' || Array.isArray(credentials)) {
    return { reason: 'bad_data', detail: 'credentials missing' };
  }
  const type = (credentials as { type?: unknown }).type;
  if (!isAuthMode(type)) {
    return { reason: 'unsupported_auth_mode', detail: typeof type === 'string' ? type : '(no type)' };
  }
  const input: CreateConnectionInput = {
    connectionId: connection_id,
    providerConfigKey: provider_config_key,
    credentials: latchkeyCredentials(credentials as Record<string, unknown>),
  };
  const config = objectOrUndefined(connection.connection_config);
  if (config) input.connectionConfig = config;
  const metadata = objectOrUndefined(connection.metadata);
  if (metadata) input.metadata = metadata;
  const tags = objectOrUndefined(connection.tags);
  if (tags && Object.keys(tags).length > 0) input.tags = tags as Record<string, string>;
  const endUser = endUserOf(connection.end_user);
  if (endUser) input.endUser = endUser;
  return input;
}

function latchkeyCredentials(credentials: Record<string, unknown>): Record<string, unknown> {
  switch (credentials.type) {
    case 'APP':
      // Nango keeps its own installation token and JWT; Latchkey mints both from the integration's keys.
      return { type: 'APP' };
    case 'JWT': {
      // Nango adds the signed `token` and its expiry; Latchkey signs its own from the key.
      const { token: _token, expires_at: _expiresAt, ...given } = credentials;
      return given;
    }
    case 'TWO_STEP': {
      // What the user submitted; Latchkey runs the token exchange again on the first get.
      const { token: _token, refresh_token: _refresh, expires_at: _expires, raw: _raw, ...submitted } = credentials;
      return submitted;
    }
    default:
      return credentials;
  }
}

function objectOrUndefined(value: unknown): JsonObject | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

/** Nango's `end_user` (`{ id, email, display_name, organization }`) as Latchkey records it. */
function endUserOf(value: unknown): EndUser | undefined {
  const user = objectOrUndefined(value);
  if (!user || typeof user.id !== 'string') return undefined;
  const endUser: EndUser = { id: user.id };
  if (typeof user.email === 'string' || user.email === null) endUser.email = user.email;
  if (typeof user.display_name === 'string' || user.display_name === null) endUser.display_name = user.display_name;
  const organization = objectOrUndefined(user.organization);
  if (organization && typeof organization.id === 'string') {
    endUser.organization = {
      id: organization.id,
      ...(typeof organization.display_name === 'string' ? { display_name: organization.display_name } : {}),
    };
  }
  return endUser;
}

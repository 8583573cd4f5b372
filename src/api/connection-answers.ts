/**
 * Where Nango's connection routes answer differently from a plain call to the manager: reading a
 * connection without the credential scope, a refresh that failed, an unconfigured integration,
 * and Nango's GitHub App import shape.
 */
import type { ConnectionManager } from '../manager.js';
import type { JsonObject } from '../model/connection.js';
import { type AnyLatchkeyError, isLatchkeyError, UnknownIntegrationError } from '../model/errors.js';
import { parseInput } from '../model/schema.js';
import type { IntegrationDescription } from '../providers/definition.js';
import type { ConnectionDescription } from '../operations/describe.js';
import { mayReadCredentials } from './access.js';
import { configuredIntegration } from './integrations-routes.js';
import { ApiFailure, credentialFailure, forbidden, json, JsonAnswer, type RouteAnswer } from './respond.js';
import { readConnectionQuery } from './connection-query.js';
import type { RouteContext } from './route.js';
import { GithubAppImport } from './schemas.js';

/**
 * The integration under this key, or Nango's answer for an unknown one, 400
 * `unknown_provider_config`, before any connection is looked up: an unconfigured key never reads
 * as "no such connection". (Nango's import answers 404 `not_found` here; Latchkey answers every
 * route alike.)
 */
export function requireIntegration(manager: ConnectionManager, providerConfigKey: string): IntegrationDescription {
  const integration = configuredIntegration(manager, providerConfigKey);
  if (integration) return integration;
  throw new UnknownIntegrationError(providerConfigKey);
}

/**
 * `GET /connections/:connectionId` as Nango answers it (its `getPublicConnection`):
 * - a key with `environment:connections:read_credentials` gets the connection with fresh
 *   credentials; a refresh that fails answers {@link credentialFailure};
 * - a key with `environment:connections:read` only gets it as stored, never refreshed, with
 *   `credentials: {}`; asking it for `force_refresh` or `refresh_token` is refused (403).
 *
 * Stricter than Nango: without the credential scope `connection_config` is `{}` too, since it
 * may hold secrets a provider returned (Nango leaves it in).
 */
export function readConnection(ctx: RouteContext): Promise<RouteAnswer> {
  const { manager, params, caller } = ctx;
  const query = readConnectionQuery(ctx);
  const ref = { connectionId: params.connectionId!, providerConfigKey: query.provider_config_key };
  requireIntegration(manager, ref.providerConfigKey);
  if (!mayReadCredentials(caller)) {
    if (query.force_refresh === true || query.refresh_token === true || query.refresh_github_app_jwt_token === true) {
      return Promise.resolve(forbidden(['environment:connections:read_credentials']));
    }
    return manager.describe(ref).then((described) => json(200, withoutCredentials(described)));
  }
  // One `then`, not an async function's `await`: the API's most frequent request waits on nothing else.
  // (What throws above, before any promise, the handler answers as it answers a rejection.)
  return manager
    .get(ref.connectionId, {
      providerConfigKey: ref.providerConfigKey,
      forceRefresh: query.force_refresh ?? false,
      refreshToken: query.refresh_token ?? false,
    })
    .then(
      (connection) => new JsonAnswer(200, connection),
      (error: unknown) => readFailure(manager, ref, error),
    );
}

async function readFailure(
  manager: ConnectionManager,
  ref: { connectionId: string; providerConfigKey: string },
  error: unknown,
): Promise<Response> {
  if (!isCredentialFailure(error)) throw error;
  // The connection as stored, for the payload; if it cannot be read now, the answer goes without it.
  const described = await manager.describe(ref).catch(() => undefined);
  return credentialFailure(error, described && withoutCredentials(described));
}

/** A connection without its secrets, in Nango's `ConnectionFull` shape. */
export function withoutCredentials(described: ConnectionDescription): Record<string, unknown> {
  // `lifetime` is Latchkey's (describe's), not part of Nango's connection answer.
  const { lifetime: _lifetime, ...nango } = described;
  return { ...nango, connection_config: {}, credentials: {} };
}

/**
 * What Nango reports as `invalid_credentials` ("Failed to refresh or test credentials"): a refresh
 * the provider refused, a grant that is exhausted, a back-off after failures, an expired token
 * that cannot be refreshed. A provider that could not be reached or limited the rate refused
 * nothing, and keeps its own answer (502/503/504), so that a client retries it.
 */
function isCredentialFailure(error: unknown): error is AnyLatchkeyError {
  if (!isLatchkeyError(error)) return false;
  switch (error.code) {
    case 'refresh_exhausted':
    case 'refresh_backoff':
    case 'access_token_expired':
      return true;
    case 'provider_error':
      return error.refused;
    default:
      return false;
  }
}

/**
 * Nango's GitHub App import, `credentials: { type: 'APP', app_id, installation_id }`: Latchkey
 * stores an APP connection as `{ type: 'APP' }` with `installation_id` (and `app_id`) in its
 * `connection_config`, and mints the installation token on the first read. Any other
 * credentials are Latchkey's own shapes, passed on as given.
 */
export function importedCredentials(
  integration: IntegrationDescription,
  credentials: JsonObject,
  connectionConfig: JsonObject | undefined,
): { credentials: JsonObject; connectionConfig: JsonObject | undefined } {
  if (credentials.type !== 'APP' || !('installation_id' in credentials || 'app_id' in credentials)) {
    return { credentials, connectionConfig };
  }
  const app = parseInput(GithubAppImport, credentials, 'credentials');
  if (integration.appId !== undefined && integration.appId !== app.app_id) {
    throw new ApiFailure(
      400,
      'invalid_body',
      `credentials.app_id is not the app of integration "${integration.providerConfigKey}".`,
    );
  }
  return {
    credentials: { type: 'APP' },
    connectionConfig: { ...connectionConfig, app_id: app.app_id, installation_id: app.installation_id },
  };
}

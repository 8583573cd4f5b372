import * as v from 'valibot';
import type { ConnectionFull } from '../model/connection.js';
import { parseInput } from '../model/schema.js';
import { type ConnectionRef, refParts } from '../model/inputs.js';
import { copyJson } from '../model/redaction.js';
import { toConnectionFull } from '../modes/present.js';
import type { IntegrationDescription } from '../providers/definition.js';
import type { OperationContext } from './context.js';
import { refreshTokenStatus, type RefreshTokenStatus, type RefreshTokenStatusHost } from './refresh-token-status.js';

/** A stored connection without its credentials: what `manager.describe` returns. */
export type ConnectionDescription = Omit<ConnectionFull, 'credentials' | 'last_fetched_at'> & {
  /** When credentials were last read, to the minute; `null` before the first read. */
  last_fetched_at: string | null;
  /** When the grant lapses, as far as is known (never a token): see `docs/lifecycle.md`. */
  lifetime: RefreshTokenStatus;
};

/** How `manager.describe` looks. */
export interface DescribeOptions {
  /**
   * Ask the provider's introspection endpoint (RFC 7662) whether the refresh token is still
   * active, where it has one: one request to the provider. Default `false`: the store only.
   */
  introspect?: boolean;
}

const DescribeOptionsSchema = v.strictObject({ introspect: v.optional(v.boolean()) });

/**
 * `manager.describe`: the connection as stored, never refreshed and without credentials (refresh
 * tokens also dropped from `connection_config`). What a caller that may not read credentials is
 * shown, and what a failed refresh reports about the connection, as Nango's
 * `getConnectionWithoutCredentials` does.
 */
export async function describeConnection(
  ctx: Pick<OperationContext, 'directory'> & RefreshTokenStatusHost,
  ref: ConnectionRef,
  options: DescribeOptions = {},
): Promise<ConnectionDescription> {
  const { introspect = false } = parseInput(DescribeOptionsSchema, options, 'options');
  const { loaded } = await ctx.directory.locate(...refParts(ref));
  const { credentials: _withheld, last_fetched_at: _fetched, ...rest } = toConnectionFull(loaded.value, 0, false);
  const lifetime = await refreshTokenStatus(ctx, loaded.value, introspect);
  return { ...rest, last_fetched_at: loaded.value.last_fetched_at, lifetime };
}

/**
 * `manager.integrations`: each configured integration with its provider definition, in the order
 * given. Secrets included: this is the app's own configuration; whoever shows it decides.
 */
export function describeIntegrations(ctx: Pick<OperationContext, 'integrations'>): IntegrationDescription[] {
  return [...ctx.integrations.values()].map((integration) => ({
    providerConfigKey: integration.providerConfigKey,
    provider: integration.provider,
    definition: copyJson(integration.definition),
    clientId: integration.clientId,
    clientSecret: integration.clientSecret,
    scopes: [...integration.scopes],
    appId: integration.appId,
    appPrivateKey: integration.appPrivateKey,
    clientMetadata: integration.clientMetadata && copyJson(integration.clientMetadata),
  }));
}

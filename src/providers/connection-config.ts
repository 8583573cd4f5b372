import { InvalidRequestError } from '../model/errors.js';
import type { JsonObject } from '../model/connection.js';
import type { ProviderDefinition } from './definition.js';
import { isPlainObject } from '../model/json.js';

/** `connectionConfig.<field>` for each optional field: templates leave out what only such a field fills. */
export function optionalConnectionConfigPaths(definition: ProviderDefinition): Set<string> {
  return new Set(
    Object.entries(definition.connectionConfig ?? {})
      .filter(([, field]) => field.optional)
      .map(([name]) => `connectionConfig.${name}`),
  );
}

/** Credentials with the provider's defaults for fields users are not asked for (only for its own mode). */
export function withCredentialDefaults(definition: ProviderDefinition, credentials: unknown): unknown {
  const defaults = definition.credentialDefaults;
  if (!defaults || !isPlainObject(credentials)) return credentials;
  if ((credentials as { type?: unknown }).type !== definition.authMode) return credentials;
  return { ...defaults, ...(credentials as Record<string, unknown>) };
}

/**
 * Checks a connection's `connection_config` against the fields its provider declares, and returns
 * it with the provider's defaults filled in (Tripletex's company id `0`): required
 * ones present, each matching its pattern — so a bad subdomain is refused on create instead of
 * becoming a request to the wrong host.
 */
export function checkConnectionConfig(
  definition: ProviderDefinition,
  config: JsonObject,
  options: { beforeAuthorization?: { brings?: string[] | undefined } } = {},
): JsonObject {
  const filled: JsonObject = { ...config };
  for (const [name, field] of Object.entries(definition.connectionConfig ?? {})) {
    if (field.default !== undefined && isAbsent(filled[name])) filled[name] = field.default;
  }
  // Before the user authorizes, fields the callback or the token response will bring may be missing.
  const before = options.beforeAuthorization;
  const broughtByFlow = new Set(
    before
      ? [...(before.brings ?? []), ...(definition.callbackMetadata ?? []), ...(definition.tokenResponseMetadata ?? [])]
      : [],
  );
  for (const [name, field] of Object.entries(definition.connectionConfig ?? {})) {
    const value = filled[name];
    if (isAbsent(value)) {
      if (field.optional || broughtByFlow.has(name)) continue;
      throw new InvalidRequestError(
        `connectionConfig.${name} is required by this provider`,
        `connectionConfig.${name}`,
      );
    }
    if (field.pattern !== undefined && !new RegExp(field.pattern).test(String(value))) {
      throw new InvalidRequestError(
        `connectionConfig.${name} does not have the form this provider requires`,
        `connectionConfig.${name}`,
      );
    }
  }
  return filled;
}

const isAbsent = (value: unknown) => value === undefined || value === null || value === '';

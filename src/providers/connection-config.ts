import { InvalidRequestError } from '../errors.js';
import type { JsonObject } from '../types.js';
import type { ProviderDefinition } from './definition.js';

/**
 * Checks a connection's `connection_config` against the fields its provider declares: required
 * ones present, each matching its pattern — so a bad subdomain is refused on create instead of
 * becoming a request to the wrong host.
 */
export function checkConnectionConfig(definition: ProviderDefinition, config: JsonObject): void {
  for (const [name, field] of Object.entries(definition.connectionConfig ?? {})) {
    const value = config[name];
    if (value === undefined || value === null || value === '') {
      if (field.optional) continue;
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
}

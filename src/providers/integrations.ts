import { InvalidRequestError, UnknownIntegrationError } from '../errors.js';
import { strategies } from '../strategies/registry.js';
import { builtinProviders } from './catalog.js';
import type { IntegrationConfig, ProviderDefinition, ResolvedIntegration } from './definition.js';

/** Merges each integration with its provider definition, failing at construction on a bad one. */
export function resolveIntegrations(
  integrations: Record<string, IntegrationConfig>,
  extraProviders: Record<string, ProviderDefinition> = {},
): Map<string, ResolvedIntegration> {
  const catalog = { ...builtinProviders, ...extraProviders };
  const resolved = new Map<string, ResolvedIntegration>();
  for (const [providerConfigKey, config] of Object.entries(integrations)) {
    if (typeof config?.provider !== 'string' || config.provider === '') {
      throw new InvalidRequestError(`integration "${providerConfigKey}" needs a provider`, 'integrations');
    }
    const base = Object.hasOwn(catalog, config.provider) ? catalog[config.provider] : undefined;
    const definition = { ...base, ...config.definition } as Partial<ProviderDefinition>;
    if (!definition.authMode || !Object.hasOwn(strategies, definition.authMode)) {
      throw new UnknownIntegrationError(
        providerConfigKey,
        `uses provider "${config.provider}", which is not in the catalog; give its definition (at least authMode)`,
      );
    }
    resolved.set(providerConfigKey, {
      providerConfigKey,
      provider: config.provider,
      definition: definition as ProviderDefinition,
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      scopes: config.scopes ?? [],
      appId: config.appId,
      appPrivateKey: config.appPrivateKey,
      refreshMarginSeconds: config.refreshMarginSeconds,
      clientCertificate: config.clientCertificate,
    });
  }
  return resolved;
}

import { InvalidIntegrationError, InvalidRequestError } from '../model/errors.js';
import { isAuthMode } from '../model/auth-modes.js';
import { builtinProviders } from './catalog.js';
import { checkIntegration } from './integration-checks.js';
import type { IntegrationConfig, ProviderDefinition, ResolvedIntegration } from './definition.js';

/** Merges each integration with its provider definition, failing at construction on a bad one. */
export function resolveIntegrations(
  integrations: Record<string, IntegrationConfig>,
  extraProviders: Record<string, ProviderDefinition> = {},
): Map<string, ResolvedIntegration> {
  const resolved = new Map<string, ResolvedIntegration>();
  for (const [providerConfigKey, config] of Object.entries(integrations)) {
    if (typeof config?.provider !== 'string' || config.provider === '') {
      throw new InvalidRequestError(`integration "${providerConfigKey}" needs a provider`, 'integrations');
    }
    // Looked up, not merged: copying a thousand-entry catalog per manager cost ~20 ms.
    const base = Object.hasOwn(extraProviders, config.provider)
      ? extraProviders[config.provider]
      : Object.hasOwn(builtinProviders, config.provider)
        ? builtinProviders[config.provider]
        : undefined;
    const definition = { ...base, ...config.definition } as Partial<ProviderDefinition>;
    if (config.allowedHosts !== undefined) {
      if (!Array.isArray(config.allowedHosts) || config.allowedHosts.some((host) => typeof host !== 'string')) {
        throw new InvalidRequestError(
          `integration "${providerConfigKey}": allowedHosts must be strings`,
          'allowedHosts',
        );
      }
      definition.allowedHosts = config.allowedHosts;
    }
    if (!definition.authMode || !isAuthMode(definition.authMode)) {
      throw new InvalidIntegrationError(
        providerConfigKey,
        'provider',
        `"${config.provider}" is not in the catalog; give its definition (at least authMode)`,
      );
    }
    checkIntegration(providerConfigKey, config, definition as ProviderDefinition);
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
      verifyInstallation: config.verifyInstallation,
      clientMetadata: config.clientMetadata,
      aws: config.aws,
      appLink: config.appLink,
    });
  }
  return resolved;
}

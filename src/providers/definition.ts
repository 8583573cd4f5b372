import type { AuthMode } from '../strategies/registry.js';

/** How a token endpoint wants the client authenticated (RFC 6749 §2.3.1). */
export type TokenRequestAuthMethod = 'client_secret_basic' | 'client_secret_post';

/**
 * What Latchkey knows about a provider. URLs may contain `${connectionConfig.<field>}`
 * placeholders (e.g. a Zendesk subdomain), filled from the connection when used.
 */
export interface ProviderDefinition {
  authMode: AuthMode;
  /** Expected `iss` of ID tokens the token endpoint returns; only needed for OpenID providers. */
  issuer?: string;
  authorizationUrl?: string;
  tokenUrl?: string;
  /** Where refresh requests go when not to `tokenUrl`. */
  refreshUrl?: string;
  /** Default `client_secret_post` (credentials in the form body), as Nango's default. */
  tokenRequestAuthMethod?: TokenRequestAuthMethod;
  /** Extra parameters for refresh requests. */
  refreshParams?: Record<string, string>;
  /** Refresh this many seconds before expiry instead of the manager's margin. */
  tokenExpirationBufferSeconds?: number;
  /**
   * Lifetime to assume when a token response has no `expires_in`. Without it such a token is
   * treated as non-expiring — which is wrong for providers whose tokens die silently (Zendesk).
   */
  defaultTokenLifetimeSeconds?: number;
}

/** An integration as configured by the app: a provider plus the app's client credentials. */
export interface IntegrationConfig {
  /** Catalog name (`github`, `google`, …) or any name when `definition` describes it fully. */
  provider: string;
  clientId?: string;
  clientSecret?: string;
  scopes?: string[];
  /** Overrides for the catalog entry, or the whole definition of a provider not in the catalog. */
  definition?: Partial<ProviderDefinition>;
  /** Refresh margin for this integration's connections, in seconds. */
  refreshMarginSeconds?: number;
}

/** An integration with its provider definition merged in. */
export interface ResolvedIntegration {
  providerConfigKey: string;
  provider: string;
  definition: ProviderDefinition;
  clientId: string | undefined;
  clientSecret: string | undefined;
  scopes: string[];
  refreshMarginSeconds: number | undefined;
}

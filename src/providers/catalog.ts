import type { ProviderDefinition } from './definition.js';

/**
 * A starter catalog, written from each provider's public OAuth documentation. Apps add or
 * override entries with the manager's `providers` option or an integration's `definition`.
 */
export const builtinProviders: Readonly<Record<string, ProviderDefinition>> = {
  // docs.github.com: "Authorizing OAuth apps" and "Refreshing user access tokens"
  github: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://github.com/login/oauth/authorize',
    tokenUrl: 'https://github.com/login/oauth/access_token',
    tokenRequestAuthMethod: 'client_secret_post',
  },
  // developers.google.com/identity/protocols/oauth2/web-server
  google: {
    authMode: 'OAUTH2',
    issuer: 'https://accounts.google.com',
    authorizationUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
    tokenUrl: 'https://oauth2.googleapis.com/token',
    tokenRequestAuthMethod: 'client_secret_post',
  },
  // learn.microsoft.com: "Microsoft identity platform and OAuth 2.0 authorization code flow"
  microsoft: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
    tokenUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
    tokenRequestAuthMethod: 'client_secret_post',
  },
  // developers.hubspot.com/docs/api/oauth-quickstart-guide
  hubspot: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://app.hubspot.com/oauth/authorize',
    tokenUrl: 'https://api.hubapi.com/oauth/v1/token',
    tokenRequestAuthMethod: 'client_secret_post',
  },
  // developer.zendesk.com: "Using OAuth authentication with your application". Token responses
  // may omit expires_in although tokens do lapse; assume 30 days rather than "never".
  zendesk: {
    authMode: 'OAUTH2',
    authorizationUrl: 'https://${connectionConfig.subdomain}.zendesk.com/oauth/authorizations/new',
    tokenUrl: 'https://${connectionConfig.subdomain}.zendesk.com/oauth/tokens',
    tokenRequestAuthMethod: 'client_secret_post',
    defaultTokenLifetimeSeconds: 30 * 24 * 3600,
    connectionConfig: { subdomain: { pattern: '^[a-z0-9_-]+$' } },
  },
};

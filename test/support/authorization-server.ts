import type { ConnectionManager, ConnectionManagerOptions, IntegrationConfig } from '../../src/index.js';
import { memoryStore } from '../../adapters/memory.js';
import type { LocalAuthorizationServer } from '../../examples/support/authorization-server.js';
import { testManager } from './manager.js';

/**
 * The one OAuth 2.0 fixture: a real authorization server (oidc-provider, the one the examples run
 * against) and the integration that points at it. Tests take both from here rather than spelling
 * out the integration each time.
 */
export {
  type LocalAuthorizationServer,
  startAuthorizationServer,
} from '../../examples/support/authorization-server.js';

export interface LocalIdpOptions {
  /** How the client authenticates at the token endpoint; unset leaves Latchkey's default (in the body). */
  authMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Adds the authorization URL, for tests that run the connect flow. */
  connect?: boolean;
  /** `prompt=consent`: offline_access yields a refresh token only with explicit consent. */
  consent?: boolean;
  scopes?: string[];
  /** Names the issuer, for tests that only refresh. */
  issuer?: boolean;
}

/** An OAUTH2 integration registered at `server` as its Basic or its body-authenticating client. */
export function localIdpIntegration(
  server: LocalAuthorizationServer,
  options: LocalIdpOptions = {},
): IntegrationConfig {
  const client = options.authMethod === 'client_secret_basic' ? server.basicClient : server.postClient;
  return {
    provider: 'local-idp',
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    ...(options.scopes && { scopes: options.scopes }),
    definition: {
      authMode: 'OAUTH2',
      ...(options.connect && { authorizationUrl: `${server.issuer}/auth` }),
      tokenUrl: server.tokenUrl,
      ...(options.issuer && { issuer: server.issuer }),
      ...(options.authMethod && { tokenRequestAuthMethod: options.authMethod }),
      ...(options.consent && { authorizationParams: { prompt: 'consent' } }),
    },
  };
}

/**
 * A manager with one OAUTH2 integration, `local`, registered at the local authorization server
 * with the given client authentication method; in-memory store.
 */
export function authorizationServerManager(
  server: LocalAuthorizationServer,
  authMethod: 'client_secret_basic' | 'client_secret_post',
  extra: Partial<ConnectionManagerOptions> = {},
): ConnectionManager {
  return testManager({
    store: memoryStore(),
    integrations: { local: localIdpIntegration(server, { authMethod, issuer: true }) },
    ...extra,
  });
}

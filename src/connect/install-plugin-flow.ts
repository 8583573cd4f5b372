import { AuthorizationError } from '../model/errors.js';
import { checkedUrl } from '../provider-http/http.js';
import type { JsonObject } from '../model/connection.js';
import type { ConnectFlow } from './connect-flow.js';
import { verifyCredentials } from './verify-credentials.js';

/**
 * Nango's INSTALL_PLUGIN (Crisp's plugin marketplace): the user installs the app from the
 * integration's `appLink`, sent there with `payload=<state>`; the marketplace returns to the
 * callback with the same `payload` and the fields the definition lists (`callbackMetadata`,
 * Crisp's `website_id`). No token is exchanged: the connection holds the integration's own plugin
 * credentials as BASIC (`clientId`, `clientSecret`), as Nango stores them, checked first with the
 * provider's verification request when the definition has one.
 */
export const installPluginFlow: ConnectFlow = {
  async start({ integration, state, http }) {
    if (integration.appLink === undefined)
      throw new AuthorizationError(
        'invalid_integration',
        `Integration "${integration.providerConfigKey}" needs appLink, the page where users install the app`,
      );
    const url = checkedUrl(integration.appLink, http);
    url.searchParams.set('payload', state);
    return { url };
  },
  async finish({ integration, flow, callback, now, http }) {
    const { definition } = integration;
    const connectionConfig: JsonObject = {};
    for (const name of definition.callbackMetadata ?? []) {
      const value = callback.get(name);
      if (value === null || value === '')
        throw new AuthorizationError('missing_metadata', `The install callback carried no ${name}`, flow);
      connectionConfig[name] = value;
    }
    if (integration.clientId === undefined || integration.clientSecret === undefined)
      throw new AuthorizationError(
        'invalid_integration',
        `Integration "${integration.providerConfigKey}" needs clientId and clientSecret (the plugin's token identifier and key)`,
        flow,
      );
    const credentials = { type: 'BASIC' as const, username: integration.clientId, password: integration.clientSecret };
    if (definition.verification && definition.proxy) {
      const context = {
        providerConfigKey: integration.providerConfigKey,
        integration,
        connectionConfig: { ...flow.connectionConfig, ...connectionConfig },
        now,
        marginMs: 0,
        http,
      };
      const verification = await verifyCredentials(credentials, context, integration, http);
      if (verification.verdict !== 'valid')
        throw new AuthorizationError(
          'verification_failed',
          verification.verdict === 'unanswered'
            ? `The provider's verification request was not answered: ${verification.error.message}`
            : `The provider's verification request answered HTTP ${verification.status}; nothing was stored`,
          flow,
        );
    }
    return { credentials, connectionConfig };
  },
};

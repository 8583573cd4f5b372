import type { AuthMode } from '../model/auth-modes.js';
import type { ProviderDefinition } from '../providers/definition.js';
import type { ConnectFlow } from './connect-flow.js';
import { installPluginFlow } from './install-plugin-flow.js';
import { githubAppFlow, githubAppOAuthFlow } from './github-app-flow.js';
import { mcpGenericFlow } from './mcp-generic-flow.js';
import { mcpOAuth2Flow } from './mcp-oauth2-flow.js';
import { oauth1Flow } from './oauth1-flow.js';
import { oauth2Flow } from './oauth2-flow.js';

/** The modes a user can authorize through a redirect. Adding one is its module plus one line here. */
const connectFlows: Partial<Record<AuthMode, ConnectFlow>> = {
  OAUTH2: oauth2Flow,
  OAUTH1: oauth1Flow,
  APP: githubAppFlow,
  CUSTOM: githubAppOAuthFlow,
  MCP_OAUTH2_GENERIC: mcpGenericFlow,
  MCP_OAUTH2: mcpOAuth2Flow,
};

/** The flow of a definition: its mode's, or the plugin install (Nango's INSTALL_PLUGIN) a definition asks for. */
export function connectFlowFor(
  definition: Pick<ProviderDefinition, 'authMode' | 'installPlugin'>,
): ConnectFlow | undefined {
  return definition.installPlugin === true ? installPluginFlow : connectFlows[definition.authMode];
}

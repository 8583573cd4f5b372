/**
 * The one route the Connect UI needs beyond Nango's session routes: the integrations a connect
 * session may connect, each with the form to show for it. Nango's UI reads `/integrations` and
 * `/providers/:provider` with the session token; here those need a secret key, so the page reads
 * this instead, authenticated by the session token as Bearer. It answers no secret.
 */
import type { ConnectionManager } from '../manager.js';
import { InvalidConnectSessionError } from '../model/errors.js';
import type { ApiScope, Caller } from './access.js';
import { type ConnectForm, connectFormOf } from './connect-ui-forms.js';
import { readQuery } from './request.js';
import { json } from './respond.js';
import { EmptyQuery } from './schemas.js';

/** What this route reads of routes.ts's `RouteContext` (not imported from there: routes.ts registers it). */
interface RouteContext {
  manager: ConnectionManager;
  url: URL;
  caller: Caller;
}

/** One entry of the Connect UI's list. */
export interface ConnectUiIntegration {
  unique_key: string;
  provider: string;
  display_name: string;
  auth_mode: string;
  form: ConnectForm;
}

async function sessionIntegrations({ manager, url, caller }: RouteContext): Promise<Response> {
  readQuery(url, EmptyQuery);
  if (caller.sessionToken === undefined) throw new InvalidConnectSessionError('format');
  const session = await manager.connectSessions.get(caller.sessionToken);
  const allowed = session.reconnect
    ? [session.reconnect.providerConfigKey]
    : (session.allowedIntegrations ?? undefined);
  const data: ConnectUiIntegration[] = [];
  for (const integration of manager.integrations()) {
    if (allowed && !allowed.includes(integration.providerConfigKey)) continue;
    const preset = session.integrationsConfigDefaults?.[integration.providerConfigKey]?.connection_config ?? {};
    data.push({
      unique_key: integration.providerConfigKey,
      provider: integration.provider,
      display_name: displayName(integration.provider),
      auth_mode: integration.definition.authMode,
      form: connectFormOf(integration, preset),
    });
  }
  return json(200, { data });
}

/**
 * A readable name from a catalog name (`google-mail` → `Google Mail`): the catalog carries no
 * display names.
 */
function displayName(provider: string): string {
  return provider
    .split(/[-_]/)
    .filter(Boolean)
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join(' ');
}

/** Registered in routes.ts. */
export const CONNECT_UI_ROUTES = [
  {
    method: 'GET' as const,
    path: ['connect', 'session', 'integrations'],
    scope: 'environment:connect_sessions:write' as ApiScope,
    auth: 'connect-session' as const,
    summary: 'The integrations a connect session may connect, with the form the Connect UI shows for each (no secret)',
    query: EmptyQuery,
    run: sessionIntegrations,
  },
];

import { UnknownIntegrationError } from '../model/errors.js';
import { providerFailure, providerRequest } from '../provider-http/http.js';
import type { JsonObject } from '../model/connection.js';
import { type AuthStrategy, field, mintedUntilExpiry } from './strategy.js';
import type { BillCredentials } from '../model/credentials.js';

/** Bill sessions end after 35 minutes without use (Bill's "API sessions" page). */
const SESSION_LIFETIME_MS = 35 * 60_000;
const DEFAULT_LOGIN_URL = 'https://gateway.prod.bill.com/connect/v3/login';

/**
 * Bill.com: log in with a JSON POST of username, password, organization id and developer key;
 * keep the `sessionId` and log in again before the session idles out. The developer key defaults
 * to the integration's `clientId`; the login URL is the provider's `tokenUrl` (sandbox:
 * `https://gateway.stage.bill.com/connect/v3/login`).
 */
export const bill = {
  mode: 'BILL',
  parse(input, context) {
    field.onlyKnown(input, [
      'type',
      'username',
      'password',
      'organization_id',
      'dev_key',
      'session_id',
      'user_id',
      'expires_at',
      'raw',
    ]);
    const credentials: BillCredentials = {
      type: 'BILL',
      username: field.requiredString(input, 'username'),
      password: field.requiredString(input, 'password'),
      organization_id: field.requiredString(input, 'organization_id'),
      dev_key: field.requiredString({ dev_key: input.dev_key ?? context.integration?.clientId }, 'dev_key'),
      raw: field.raw(input),
    };
    const sessionId = field.optionalString(input, 'session_id');
    const expiresAt = field.optionalInstant(input, 'expires_at');
    if (sessionId !== undefined && expiresAt !== undefined)
      Object.assign(credentials, { session_id: sessionId, expires_at: expiresAt });
    return credentials;
  },
  ...mintedUntilExpiry<BillCredentials>((c) => c.session_id),
  async refresh(credentials, context) {
    if (!context.integration) throw new UnknownIntegrationError(context.providerConfigKey);
    const response = await providerRequest(
      context.integration.definition.tokenUrl ?? DEFAULT_LOGIN_URL,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({
          username: credentials.username,
          password: credentials.password,
          organizationId: credentials.organization_id,
          devKey: credentials.dev_key,
        }),
      },
      context.http,
    );
    const body = response.json as { sessionId?: unknown; userId?: unknown } | undefined;
    if (response.status !== 200 || typeof body?.sessionId !== 'string') {
      // Bill answers a refused login with a list of `{ code, message }`; wrong credentials never heal.
      const first = Array.isArray(response.json)
        ? (response.json[0] as { code?: string; message?: string })
        : undefined;
      throw providerFailure(
        response,
        first?.code ?? 'login_failed',
        response.status === 400 || response.status === 401,
        first?.message,
        [credentials.password, credentials.dev_key, credentials.username],
      );
    }
    const next: BillCredentials = {
      ...credentials,
      session_id: body.sessionId,
      expires_at: new Date(context.now + SESSION_LIFETIME_MS).toISOString(),
      raw: withoutSecrets(response.json as JsonObject),
    };
    if (typeof body.userId === 'string') next.user_id = body.userId;
    return { credentials: next };
  },
  accessToken: (credentials) => credentials.session_id,
} satisfies AuthStrategy<BillCredentials>;

/** The login response as raw, minus anything that echoes the password back. */
function withoutSecrets(body: JsonObject): JsonObject {
  const { password: _password, ...rest } = body;
  return rest;
}

import { integrationLacks } from '../model/errors.js';
import { providerFailure, providerRequest, type HttpSettings } from './http.js';
import type { ResolvedIntegration } from '../providers/definition.js';
import type { JsonObject } from '../model/connection.js';
import { signJwt } from '../signing/jwt.js';
import { GITHUB } from '../providers/github.js';

export interface InstallationToken {
  token: string;
  /** ISO 8601, as GitHub returns it. */
  expiresAt: string;
  raw: JsonObject;
}

/**
 * An installation access token (GitHub's "Generating an installation access token for a GitHub
 * App"): the app JWT (RS256, `iss` = app id, `iat` backdated 60 s for clock drift, `exp` within
 * 10 minutes) is exchanged at `POST /app/installations/{id}/access_tokens`; GitHub answers 201
 * with `token` and `expires_at` (one hour). Shared by the APP and CUSTOM modes.
 */
export async function mintInstallationToken(
  app: { providerConfigKey: string; integration: ResolvedIntegration | undefined },
  installationId: string,
  now: number,
  http: HttpSettings,
): Promise<InstallationToken> {
  const { integration } = app;
  if (!integration?.appId || !integration.appPrivateKey) {
    throw integrationLacks(app, 'appId', 'is missing: minting needs appId and appPrivateKey (the GitHub App)');
  }
  const appJwt = await signJwt({
    key: integration.appPrivateKey,
    algorithm: 'RS256',
    payload: { iss: integration.appId },
    lifetimeSeconds: 9 * 60,
    backdateSeconds: 60,
    now,
  });
  const base = (integration.definition.apiBaseUrl ?? GITHUB.apiBaseUrl).replace(/\/$/, '');
  const response = await providerRequest(
    `${base}/app/installations/${encodeURIComponent(installationId)}/access_tokens`,
    {
      method: 'POST',
      headers: {
        Accept: 'application/vnd.github+json',
        Authorization: `Bearer ${appJwt.token}`,
        'X-GitHub-Api-Version': '2022-11-28',
        'User-Agent': 'latchkey',
      },
    },
    http,
  );
  const body = response.json as { token?: unknown; expires_at?: unknown; message?: unknown } | undefined;
  if (response.status !== 201 || typeof body?.token !== 'string' || typeof body.expires_at !== 'string') {
    // 401: the app key or id is wrong; 404: the installation is gone. Neither heals by retrying
    // (a 403 is usually a rate limit, which does).
    const permanent = response.status === 401 || response.status === 404;
    const message = typeof body?.message === 'string' ? body.message : undefined;
    throw providerFailure(
      response,
      response.status === 404 ? 'installation_not_found' : 'app_authentication_failed',
      permanent,
      message,
      [appJwt.token],
    );
  }
  return { token: body.token, expiresAt: new Date(body.expires_at).toISOString(), raw: body as JsonObject };
}

/**
 * Whether the user behind a user-to-server token can access this installation: GitHub's
 * `GET /user/installations` (paged, 100 a page). `installation_id` in a setup callback comes from
 * the browser and "can be spoofed" (GitHub's words); this is the check GitHub recommends.
 */
export async function userCanAccessInstallation(
  integration: ResolvedIntegration,
  userToken: string,
  installationId: string,
  http: HttpSettings,
): Promise<boolean> {
  const base = (integration.definition.apiBaseUrl ?? GITHUB.apiBaseUrl).replace(/\/$/, '');
  for (let page = 1; page <= 10; page++) {
    const response = await providerRequest(
      `${base}/user/installations?per_page=100&page=${page}`,
      {
        method: 'GET',
        headers: {
          Accept: 'application/vnd.github+json',
          Authorization: `Bearer ${userToken}`,
          'X-GitHub-Api-Version': '2022-11-28',
          'User-Agent': 'latchkey',
        },
      },
      http,
    );
    const body = response.json as { installations?: Array<{ id?: unknown }> } | undefined;
    if (response.status !== 200 || !Array.isArray(body?.installations)) {
      throw providerFailure(response, 'installations_unavailable', response.status === 401, undefined, [userToken]);
    }
    if (body.installations.some((installation) => String(installation.id) === installationId)) return true;
    if (body.installations.length < 100) return false;
  }
  return false;
}

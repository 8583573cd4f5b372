import { ProviderError } from '../model/errors.js';
import { tlsOptions } from '../provider-http/client-tls.js';
import { egressFetch } from '../provider-http/egress.js';
import { checkedUrl, type HttpSettings, providerFailure, safeErrorCode, sendAndRead } from '../provider-http/http.js';
import type { ClientCertificate } from '../model/client-certificate.js';
import type { RevocationRequest } from './requests.js';

/** How revocation requests leave the process: the manager's HTTP settings and the integration's client certificate. */
export interface RevocationTransport {
  http: HttpSettings;
  clientCertificate?: ClientCertificate | undefined;
}

/**
 * The `fetch` every revocation and metadata request goes through: the egress policy's, since a
 * revocation endpoint may come from data (an issuer's metadata), with the integration's TLS options.
 */
export function revocationFetch(transport: RevocationTransport): typeof fetch {
  const tls = tlsOptions(transport.http, transport.clientCertificate);
  return egressFetch(
    {
      allowPrivateNetworks: transport.http.allowPrivateNetworks,
      allowInsecureLoopback: transport.http.allowInsecureLoopback,
    },
    tls?.tls,
    tls?.id,
  );
}

/**
 * Sends one revocation request. Resolves when the provider accepted it (2xx, a declared OK status);
 * rejects with a {@link ProviderError}: `transient` for what may pass (network, timeout, 5xx, 429),
 * `permanent` for a refusal. Errors name the host and the provider's error code, never a token.
 */
export async function sendRevocation(
  request: RevocationRequest,
  transport: RevocationTransport,
  secrets: string[],
): Promise<void> {
  const target = checkedUrl(request.url, transport.http);
  const init: RequestInit = {
    method: request.method,
    headers: request.headers,
    redirect: 'manual',
    signal: AbortSignal.timeout(transport.http.timeoutMs),
  };
  if (request.body !== undefined) init.body = request.body;
  const { response, text } = await sendAndRead(revocationFetch(transport), target, init);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const body = json !== null && typeof json === 'object' ? (json as Record<string, unknown>) : {};
  const accepted = (response.status >= 200 && response.status < 300) || request.okStatuses.includes(response.status);
  // Slack answers 200 with `{ ok: false, error }`.
  if (accepted && body.ok !== false) return;
  const error =
    typeof body.error === 'string'
      ? safeErrorCode(body.error, secrets)
      : accepted
        ? 'revocation_refused'
        : `http_${response.status}`;
  if (accepted) {
    throw new ProviderError({ kind: 'permanent', error, status: response.status, host: target.host });
  }
  throw providerFailure(
    { status: response.status, host: target.host, headers: response.headers, text, json },
    error,
    true,
    undefined,
    secrets,
  );
}

import * as v from 'valibot';
import { ProviderError } from '../model/errors.js';
import { checkedUrl, sendAndRead } from '../provider-http/http.js';
import type { ResolvedIntegration } from '../providers/definition.js';
import { introspectionSpecFor } from './endpoints.js';
import { type RevocationTransport, revocationFetch } from './send.js';

/** The parts of an RFC 7662 answer used here. */
const IntrospectionSchema = v.object({ active: v.boolean(), exp: v.optional(v.number()) });

/** What the provider's introspection endpoint says about a token. */
export interface IntrospectionVerdict {
  active: boolean;
  /** Epoch ms, when the provider states it. */
  expiresAt?: number;
}

/**
 * Asks the integration's introspection endpoint (declared, or its issuer's `introspection_endpoint`)
 * whether `token` is still active (RFC 7662), authenticated as the client. `undefined`: the
 * provider has no introspection. A failure rejects with a {@link ProviderError}.
 */
export async function introspectToken(
  integration: ResolvedIntegration,
  token: string,
  hint: 'refresh_token' | 'access_token',
  transport: RevocationTransport,
  client: { clientId: string | undefined; clientSecret: string | undefined },
): Promise<IntrospectionVerdict | undefined> {
  const spec = await introspectionSpecFor(integration.definition, transport);
  if (!spec) return undefined;
  const target = checkedUrl(spec.url, transport.http);
  const params = new URLSearchParams({ token, token_type_hint: hint });
  const headers: Record<string, string> = {
    accept: 'application/json',
    'content-type': 'application/x-www-form-urlencoded',
  };
  const auth = spec.auth ?? integration.definition.tokenRequestAuthMethod;
  if (auth === 'client_secret_basic' && client.clientId !== undefined) {
    const encode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
    headers.authorization = `Basic ${Buffer.from(`${encode(client.clientId)}:${encode(client.clientSecret ?? '')}`).toString('base64')}`;
  } else if (client.clientId !== undefined) {
    params.set('client_id', client.clientId);
    if (client.clientSecret !== undefined) params.set('client_secret', client.clientSecret);
  }
  const { response, text } = await sendAndRead(revocationFetch(transport), target, {
    method: 'POST',
    headers,
    body: params.toString(),
    redirect: 'manual',
    signal: AbortSignal.timeout(transport.http.timeoutMs),
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = v.safeParse(IntrospectionSchema, json);
  if (response.status !== 200 || !parsed.success) {
    throw new ProviderError({
      kind: response.status >= 500 || response.status === 429 ? 'transient' : 'permanent',
      error: response.status === 200 ? 'invalid_introspection_response' : `http_${response.status}`,
      status: response.status,
      host: target.host,
    });
  }
  const verdict: IntrospectionVerdict = { active: parsed.output.active };
  if (parsed.output.exp !== undefined) verdict.expiresAt = parsed.output.exp * 1000;
  return verdict;
}

import { McpDiscoveryError } from '../model/errors.js';
import { egressFetch } from '../provider-http/egress.js';
import { tlsOptions } from '../provider-http/client-tls.js';
import { checkedUrl, type HttpSettings, sendAndRead } from '../provider-http/http.js';

/** One answer of an MCP server or its authorization server, read whole (capped). */
export interface McpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * Every request of MCP discovery and registration: its URL came from the end user or from a
 * server's metadata, so it must be https (plain http only to loopback with the test switch), it
 * goes through the egress policy (resolved once, every address checked, the socket pinned), and
 * redirects are not followed — a redirect is a URL nobody checked.
 */
export async function mcpRequest(url: string, init: RequestInit, http: HttpSettings): Promise<McpAnswer> {
  const target = checkedUrl(url, http);
  if (target.username !== '' || target.password !== '') {
    throw new McpDiscoveryError('credentials_in_url', `Refusing a URL with credentials in it (${target.host})`);
  }
  const tls = tlsOptions(http);
  const send = egressFetch(
    { allowPrivateNetworks: http.allowPrivateNetworks, allowInsecureLoopback: http.allowInsecureLoopback },
    tls?.tls,
    tls?.id,
  );
  const { response, text } = await sendAndRead(send, target, {
    ...init,
    redirect: 'manual',
    signal: AbortSignal.timeout(http.timeoutMs),
  });
  return { status: response.status, headers: response.headers, text };
}

/** The answer's body as a JSON object, or `undefined` when it is not one. */
export function jsonObject(answer: McpAnswer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(answer.text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

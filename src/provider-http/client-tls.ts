import { createHash } from 'node:crypto';
import type * as Undici from 'undici';
import type { Agent } from 'undici';
import type { ClientCertificate } from '../model/client-certificate.js';

// One connection pool per certificate and CA set, shared by every manager in the process and
// keyed by a digest so the map holds no key text. Idle sockets do not keep the process alive.
const agents = new Map<string, Agent>();
const MAX_AGENTS = 64;

/**
 * undici is loaded on the first request that needs it: it is the largest module Latchkey uses
 * (~75 ms to import) and only client certificates and extra CAs need it.
 */
let undici: Promise<Pick<typeof Undici, 'Agent' | 'fetch'>> | undefined;
export const loadUndici = () => (undici ??= import('undici').then(({ Agent, fetch }) => ({ Agent, fetch })));

/**
 * The `fetch` for a provider request: the global one, or undici's (Node's own HTTP client, as a
 * package) when a client certificate is presented or extra CAs are trusted, because the global
 * `fetch` takes no TLS options. Answers are rewrapped as global `Response`s.
 */
export function fetchFor(
  http: { trustedCertificates?: string[] | undefined },
  certificate?: ClientCertificate,
): typeof fetch {
  const options = tlsOptions(http, certificate);
  if (!options) return fetch;
  const { tls, id } = options;
  return (async (input: string | URL, init: RequestInit = {}) => {
    const { Agent, fetch: undiciFetch } = await loadUndici();
    let dispatcher = agents.get(id);
    if (!dispatcher) {
      dispatcher = new Agent({ connect: tls });
      if (agents.size >= MAX_AGENTS) {
        const [oldest, pool] = agents.entries().next().value as [string, Agent];
        agents.delete(oldest);
        // An evicted pool that fails to close holds only idle sockets; nothing is waiting on it.
        void pool.close().catch(() => {});
      }
      agents.set(id, dispatcher);
    }
    const response = await undiciFetch(input, { ...(init as object), dispatcher } as Parameters<typeof undiciFetch>[1]);
    return new Response(response.body as ReadableStream | null, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers as unknown as Headers,
    });
  }) as typeof fetch;
}

/** The TLS connect options for these settings (a client certificate, extra CAs) and a digest naming them; none without either. */
export function tlsOptions(
  http: { trustedCertificates?: string[] | undefined },
  certificate?: ClientCertificate,
): { tls: Record<string, unknown>; id: string } | undefined {
  const ca = http.trustedCertificates;
  if (!certificate && !ca) return undefined;
  const tls = { ...certificate, ...(ca ? { ca } : {}) };
  return { tls, id: createHash('sha256').update(JSON.stringify(tls)).digest('base64') };
}

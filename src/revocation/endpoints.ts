import * as v from 'valibot';
import { ProviderError } from '../model/errors.js';
import { checkedUrl, sendAndRead } from '../provider-http/http.js';
import type { IntrospectionSpec, ProviderDefinition, RevocationSpec } from '../providers/definition.js';
import { type RevocationTransport, revocationFetch } from './send.js';

/** The parts of an issuer's metadata (OpenID Connect Discovery, RFC 8414) used here; the rest is ignored. */
const MetadataSchema = v.object({
  revocation_endpoint: v.optional(v.pipe(v.string(), v.url())),
  introspection_endpoint: v.optional(v.pipe(v.string(), v.url())),
});

type Metadata = v.InferOutput<typeof MetadataSchema>;

/** Metadata by issuer, per process: it changes rarely, and a failed lookup is not remembered. */
const metadataCache = new Map<string, Promise<Metadata>>();

/**
 * Where and how a grant of this provider is revoked: the definition's declared `revocation`, else
 * the `revocation_endpoint` of its issuer's metadata (RFC 7009 defaults), else `undefined` — the
 * provider has no revocation (Microsoft). A metadata lookup that fails for a passing reason
 * rejects with a transient {@link ProviderError}, so the revocation is queued, not forgotten.
 */
export async function revocationSpecFor(
  definition: ProviderDefinition,
  transport: RevocationTransport,
): Promise<RevocationSpec | undefined> {
  if (definition.revocation) return definition.revocation;
  if (definition.issuer === undefined || definition.authMode !== 'OAUTH2') return undefined;
  const url = (await issuerMetadata(definition.issuer, transport)).revocation_endpoint;
  return url === undefined ? undefined : { url, tokens: 'refresh' };
}

/** The definition's introspection endpoint, else its issuer's `introspection_endpoint` (RFC 7662). */
export async function introspectionSpecFor(
  definition: ProviderDefinition,
  transport: RevocationTransport,
): Promise<IntrospectionSpec | undefined> {
  if (definition.introspection) return definition.introspection;
  if (definition.issuer === undefined) return undefined;
  const url = (await issuerMetadata(definition.issuer, transport)).introspection_endpoint;
  return url === undefined ? undefined : { url };
}

function issuerMetadata(issuer: string, transport: RevocationTransport): Promise<Metadata> {
  const cached = metadataCache.get(issuer);
  if (cached) return cached;
  const lookup = fetchMetadata(issuer, transport);
  metadataCache.set(issuer, lookup);
  lookup.catch(() => metadataCache.delete(issuer));
  return lookup;
}

/** OpenID Connect Discovery first, then RFC 8414's well-known path; a 404 from both: no metadata. */
async function fetchMetadata(issuer: string, transport: RevocationTransport): Promise<Metadata> {
  const base = issuer.replace(/\/+$/, '');
  const origin = new URL(base);
  const candidates = [
    `${base}/.well-known/openid-configuration`,
    `${origin.origin}/.well-known/oauth-authorization-server${origin.pathname === '/' ? '' : origin.pathname}`,
  ];
  for (const candidate of candidates) {
    const target = checkedUrl(candidate, transport.http);
    const { response, text } = await sendAndRead(revocationFetch(transport), target, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(transport.http.timeoutMs),
    });
    if (response.status >= 500 || response.status === 429) {
      throw new ProviderError({ kind: 'transient', error: 'server_error', status: response.status, host: target.host });
    }
    if (response.status !== 200) continue;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      continue;
    }
    const parsed = v.safeParse(MetadataSchema, json);
    if (parsed.success) return parsed.output;
  }
  return {};
}

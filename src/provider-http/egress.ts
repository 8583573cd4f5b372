/**
 * The egress policy: a request whose host can come from data (a templated base URL, a
 * `Base-Url-Override`) must not reach the private network the server runs in — its metadata
 * service (169.254.169.254), a database on 10.x, an admin port on 127.0.0.1. The name is resolved
 * once, every address is checked, and the socket connects to the checked address (the connect
 * `lookup` of undici's agent, and of Node's in `node-transport.ts`), so a name that answers public first and private second (DNS rebinding) gets
 * no second chance.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Agent } from 'undici';
import { DisallowedHostError } from '../model/errors.js';
import { loadUndici } from './client-tls.js';

/** One resolved address. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** How host names become addresses: `dns.lookup` (the system resolver), or a test's table. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

const systemResolver: Resolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map(({ address, family }) => ({
    address,
    family: family === 6 ? 6 : 4,
  }));

let resolver: Resolver = systemResolver;

/**
 * Replaces the resolver, for tests that map a public-looking name to a private address. Not
 * exported from any entry point; `undefined` restores the system resolver.
 */
export function setEgressResolverForTests(replacement: Resolver | undefined): void {
  resolver = replacement ?? systemResolver;
}

/** What the policy lets through besides public addresses. */
export interface EgressSettings {
  /** Private, loopback and link-local addresses all allowed (the operator's one switch). */
  allowPrivateNetworks?: boolean | undefined;
  /** Loopback allowed (the local-development switch `http.allowInsecureLoopback`). */
  allowInsecureLoopback?: boolean | undefined;
}

type AddressKind = 'public' | 'loopback' | 'private';

/** Why `address` may not be reached under these settings, or `undefined` when it may. */
export function refusedAddress(address: string, settings: EgressSettings): string | undefined {
  if (settings.allowPrivateNetworks === true) return undefined;
  const kind = addressKind(address);
  if (kind === 'public') return undefined;
  if (kind === 'loopback' && settings.allowInsecureLoopback === true) return undefined;
  return kind === 'loopback' ? 'a loopback address' : 'a private or link-local address';
}

/**
 * Checks a URL whose host is an IP literal (no lookup happens for those) or `localhost`; names
 * are checked when the socket resolves them ({@link egressFetch}).
 */
export function assertLiteralHostAllowed(url: URL, settings: EgressSettings): void {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host) !== 0 ? host : host.toLowerCase() === 'localhost' ? '127.0.0.1' : undefined;
  if (literal === undefined) return;
  const why = refusedAddress(literal, settings);
  if (why) throw refusal(url.host, why);
}

function refusal(host: string, why: string): DisallowedHostError {
  return new DisallowedHostError(
    host,
    undefined,
    `it resolves to ${why}, which the egress policy refuses (allow with http.allowPrivateNetworks)`,
  );
}

// One pinned pool per policy, shared by every manager in the process.
const agents = new Map<string, Agent>();

/**
 * A `fetch` whose connections go only to addresses the policy allows: the lookup resolves the
 * name once, refuses it if any address is refused, and hands the socket the checked address.
 * `tls` are extra connect options (a client certificate, CAs). A refusal rejects with the
 * {@link DisallowedHostError} itself; nothing was sent.
 */
export function egressFetch(settings: EgressSettings, tls: Record<string, unknown> = {}, tlsId = ''): typeof fetch {
  const id = `${settings.allowPrivateNetworks === true}|${settings.allowInsecureLoopback === true}|${tlsId}`;
  return (async (input: string | URL, init: RequestInit = {}) => {
    const url = new URL(input);
    assertLiteralHostAllowed(url, settings);
    const { Agent, fetch: undiciFetch } = await loadUndici();
    let dispatcher = agents.get(id);
    if (!dispatcher) {
      dispatcher = new Agent({ connect: { ...tls, lookup: pinnedLookup(settings) } });
      agents.set(id, dispatcher);
    }
    let response;
    try {
      response = await undiciFetch(input, { ...(init as object), dispatcher } as Parameters<typeof undiciFetch>[1]);
    } catch (error) {
      // undici wraps the lookup's refusal in its own `TypeError('fetch failed')`.
      const cause = (error as { cause?: unknown }).cause;
      if (cause instanceof DisallowedHostError) throw cause;
      throw error;
    }
    return new Response(response.body as ReadableStream | null, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers as unknown as Headers,
    });
  }) as typeof fetch;
}

type LookupCallback = (error: Error | null, address: string | ResolvedAddress[], family?: number) => void;

/**
 * `net.connect`'s `lookup` option: resolve, check every address, answer with the checked ones.
 * Both clients connect through it: undici's agent here, and Node's agent in `node-transport.ts`.
 */
export function pinnedLookup(settings: EgressSettings) {
  return (hostname: string, options: { all?: boolean } | number, callback: LookupCallback): void => {
    resolver(hostname).then(
      (addresses) => {
        if (addresses.length === 0) {
          callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '');
          return;
        }
        for (const { address } of addresses) {
          const why = refusedAddress(address, settings);
          if (why) {
            callback(refusal(hostname, why), '');
            return;
          }
        }
        if (typeof options === 'object' && options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (error: Error) => callback(error, ''),
    );
  };
}

/** Loopback, private (RFC 1918, CGNAT, ULA), link-local, unspecified, multicast, reserved — or public. */
function addressKind(address: string): AddressKind {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return addressKind(mapped);
  if (isIP(address) === 4) {
    const [a = 0, b = 0] = address.split('.').map(Number);
    if (a === 127) return 'loopback';
    if (
      a === 0 ||
      a === 10 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 198 && (b === 18 || b === 19)) ||
      a >= 224
    )
      return 'private';
    return 'public';
  }
  const lower = address.toLowerCase();
  if (lower === '::1') return 'loopback';
  if (
    lower === '::' ||
    /^f[cd]/.test(lower) ||
    /^fe[89ab]/.test(lower) ||
    /^ff/.test(lower) ||
    // NAT64 and 6to4 embed an IPv4 address a gateway would reach for us.
    lower.startsWith('64:ff9b:') ||
    lower.startsWith('2002:')
  )
    return 'private';
  return 'public';
}

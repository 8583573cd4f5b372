/**
 * The URL a Node request is routed by, from its request target and Host.
 *
 * The routed URL is built from the request target alone. Host only names the authority, and is
 * used only once it is a well-formed host: when the URL was `http://${Host}${target}`, a Host of
 * `127.0.0.1/connection/x?` turned a request for `/healthz` into a credential read.
 *
 * Clients repeat the same targets (a service reads the same connections over and over), and
 * parsing the URL and checking the Host were a tenth of what the API spent on a request: the
 * outcome for one (scheme, Host, target) is kept in a small map. What is kept is plain strings,
 * worked out by the same checks as on a first sight, so a request answered from the map is routed
 * exactly as it would have been; the `URL` object itself is made again for each request that asks
 * for one, so no request can change what another reads.
 */
import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';

/** Where a request goes, as `URL` would spell it (percent-encoding normalized, dot segments resolved). */
export interface RoutedTarget {
  readonly href: string;
  /** `url.pathname`. */
  readonly pathname: string;
  /** `url.search`: the query with its `?`, or `''`. */
  readonly search: string;
  /** `url.host`: the authority, as Host (or an absolute-form target) named it. */
  readonly host: string;
  /** `pathname` + `search`, what an access log should read as `req.url`. */
  readonly path: string;
}

/**
 * Targets kept, at most. Past that the map starts over: a client sending endless distinct targets
 * makes every request pay what it paid before the map existed, and holds no more memory than this.
 */
export const KEPT_TARGETS = 512;
/** Longer targets (with their Host) are not kept: a full map then holds a few MB at most (each target kept with its URL's parts). */
const KEPT_KEY_CHARS = 1024;
/**
 * By scheme, Host, then target: lookups of the strings as they came, rather than of one key joined
 * from them (a new string to flatten and hash on every request).
 */
const keptHttp = new Map<string, Map<string, RoutedTarget | string>>();
const keptHttps = new Map<string, Map<string, RoutedTarget | string>>();
let keptCount = 0;

/**
 * The target to route, with the `URL` made for it when one was made here; or why the request is
 * refused (a 400's message).
 */
export function routedTarget(req: IncomingMessage): { target: RoutedTarget; url?: URL } | string {
  // RFC 9112 §3.2: more than one Host is a 400, whatever the target. Checked on every request:
  // `req.headers.host` names only the first.
  let hostLines = 0;
  for (let index = 0; index < req.rawHeaders.length; index += 2) {
    const field = req.rawHeaders[index]!;
    if (field.length === 4 && field.toLowerCase() === 'host') hostLines++;
  }
  if (hostLines > 1) return 'The request has more than one Host header.';
  const target = req.url ?? '';
  // A TLS socket (an `https` server) says so; a plain one has no such property.
  const scheme = 'encrypted' in req.socket && req.socket.encrypted === true ? 'https' : 'http';
  const host = req.headers.host;
  // Origin-form with a Host line: the outcome depends on these three strings alone.
  if (host === undefined || !target.startsWith('/')) return asRouted(resolve(req, scheme, target));
  const hosts = scheme === 'https' ? keptHttps : keptHttp;
  const known = hosts.get(host)?.get(target);
  if (known !== undefined) return typeof known === 'string' ? known : { target: known };
  const resolved = resolve(req, scheme, target);
  if (host.length + target.length <= KEPT_KEY_CHARS) {
    if (keptCount >= KEPT_TARGETS) {
      keptHttp.clear();
      keptHttps.clear();
      keptCount = 0;
    }
    let targets = hosts.get(host);
    if (targets === undefined) hosts.set(host, (targets = new Map()));
    if (!targets.has(target)) keptCount++;
    targets.set(target, resolved instanceof URL ? targetOf(resolved) : resolved);
  }
  return asRouted(resolved);
}

/** How many targets are kept now (at most {@link KEPT_TARGETS}). */
export function keptTargetCount(): number {
  return keptCount;
}

function asRouted(resolved: URL | string): { target: RoutedTarget; url: URL } | string {
  return typeof resolved === 'string' ? resolved : { target: targetOf(resolved), url: resolved };
}

function targetOf(url: URL): RoutedTarget {
  const { href, pathname, search, host } = url;
  return Object.freeze({ href, pathname, search, host, path: `${pathname}${search}` });
}

/** The URL for this target and Host, or why the request is refused. */
function resolve(req: IncomingMessage, scheme: string, target: string): URL | string {
  if (target.startsWith('/')) {
    if (target.includes('#')) return 'The request target is malformed.';
    const host = req.headers.host ?? localAuthority(req);
    if (!isHost(host)) return 'The Host header is malformed.';
    return parsed(`${scheme}://${host}${target}`);
  }
  // Absolute-form (RFC 9112 §3.2.2): the target's authority replaces Host. No user info, no fragment.
  const absolute = /^(https?):\/\/([^/?#]*)([/?][^#]*)?$/i.exec(target);
  if (absolute) {
    const [, givenScheme, authority, rest = ''] = absolute;
    if (!isHost(authority!)) return 'The request target names a malformed host.';
    return parsed(`${givenScheme!.toLowerCase()}://${authority}${rest.startsWith('?') ? `/${rest}` : rest || '/'}`);
  }
  // Asterisk-form (OPTIONS *), authority-form (CONNECT) and anything else: nothing here to route.
  return 'The request target is malformed.';
}

function parsed(href: string): URL | string {
  try {
    return new URL(href);
  } catch {
    return 'The request target is malformed.';
  }
}

/** HTTP/1.0 may omit Host: the authority is then the address the client connected to. */
function localAuthority(req: IncomingMessage): string {
  const { localAddress = '', localPort } = req.socket;
  const address = isIPv6(localAddress) ? `[${localAddress}]` : localAddress;
  return localPort === undefined ? address : `${address}:${localPort}`;
}

/**
 * RFC 9110 §7.2 / RFC 3986 §3.2.2: `uri-host [ ":" port ]`, where the host is an IP-literal
 * (IPv6 in brackets), or a reg-name (which covers IPv4). Stricter than RFC 3986 in one place: a
 * reg-name may not be percent-encoded, since URL parsing would decode it into another name.
 */
function isHost(value: string): boolean {
  const match = /^(\[[^\]]*\]|[A-Za-z0-9\-._~!$&'()*+,;=]+)(?::(\d{0,5}))?$/.exec(value);
  if (!match) return false;
  const [, host, port] = match;
  if (host!.startsWith('[') && !isIPv6(host!.slice(1, -1))) return false;
  return port === undefined || port === '' || Number(port) <= 65535;
}

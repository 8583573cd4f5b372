import type { ProviderDefinition } from './definition.js';
import { enumeratedHosts } from './provider-url.js';

type Spec = Record<string, unknown>;

/** A DNS host name: labels of letters, digits and inner hyphens, nothing else (no scheme, port, path or `@`). */
const HOSTNAME =
  '^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$';
/** An http(s) URL without userinfo, whose host is made of host-name characters. */
const URI = '^https?://[A-Za-z0-9.-]+(?::\\d{1,5})?(?:[/?#][^\\s]*)?$';
/**
 * A value Nango shows between a `prefix` and a `suffix` (`https://` … `.atlassian.net`): part of a
 * URL, so no userinfo, query, fragment, backslash or space — which could move its host or cut it.
 * A path (`dev.azure.com/myorg`) is allowed; the host check after filling decides the host.
 */
const URL_PART = '^[^?#@\\\\\\s]+$';

/**
 * Everything Nango uses to constrain a `connection_config` field, as one regular expression:
 * its `pattern`, its `enum` (anchored, escaped: clio's four regional hosts), `format: hostname`
 * and `format: uri`, and a `prefix`/`suffix` (the value is part of a URL, so it may hold no
 * `/`, `?`, `#`, `@` or `\`). Each constraint is a lookahead, so all must hold; Nango's own
 * pattern keeps its unanchored meaning.
 */
export function nangoFieldPattern(spec: Spec): string | undefined {
  const constraints: string[] = [];
  if (typeof spec.pattern === 'string') constraints.push(spec.pattern);
  const values = enumValues(spec);
  if (values) constraints.push(`^(?:${values.map(escapeRegExp).join('|')})$`);
  if (spec.format === 'hostname') constraints.push(HOSTNAME);
  if (spec.format === 'uri') constraints.push(URI);
  if (typeof spec.prefix === 'string' || typeof spec.suffix === 'string') constraints.push(URL_PART);
  if (constraints.length === 0) return undefined;
  if (constraints.length === 1) return constraints[0];
  return `^${constraints.map((pattern) => `(?=[\\s\\S]*?(?:${pattern}))`).join('')}`;
}

/** A field's listed values (Nango's `enum`), when it has some. */
export function enumValues(spec: Spec): string[] | undefined {
  return Array.isArray(spec.enum) && spec.enum.length > 0 ? spec.enum.map(String) : undefined;
}

/** Hosts known to be a provider's own, for Nango entries whose whole host comes from the connection. */
const KNOWN_HOSTS: Array<[RegExp, string[]]> = [
  [/^salesforce/, ['*.salesforce.com', '*.force.com', '*.my.salesforce.com']],
  [/^pipedrive/, ['*.pipedrive.com']],
];

/**
 * The hosts an imported definition may reach when its URLs take their whole host from the
 * connection: every host its listed values (`enum`) can make, and known defaults (Salesforce's
 * `*.salesforce.com` and `*.force.com`). Undefined when there are none: the app names them.
 */
export function nangoAllowedHosts(
  name: string,
  definition: ProviderDefinition,
  connectionConfig: unknown,
): string[] | undefined {
  const enums: Record<string, string[]> = {};
  if (connectionConfig !== null && typeof connectionConfig === 'object') {
    for (const [field, spec] of Object.entries(connectionConfig as Record<string, unknown>)) {
      const values = spec !== null && typeof spec === 'object' ? enumValues(spec as Spec) : undefined;
      if (values) enums[field] = values;
    }
  }
  const templates = [
    definition.authorizationUrl,
    definition.tokenUrl,
    definition.refreshUrl,
    definition.requestTokenUrl,
    definition.proxy?.baseUrl,
    definition.twoStep?.tokenRequest.url,
    definition.twoStep?.refreshRequest?.url,
    ...(definition.twoStep?.additionalSteps ?? []).map((step) => step.url),
  ].filter((template): template is string => typeof template === 'string');
  const hosts = new Set(enumeratedHosts(templates, enums));
  for (const [pattern, known] of KNOWN_HOSTS) if (pattern.test(name)) known.forEach((host) => hosts.add(host));
  return hosts.size > 0 ? [...hosts] : undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

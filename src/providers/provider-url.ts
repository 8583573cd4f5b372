import { DisallowedHostError, MissingTemplateValueError } from '../model/errors.js';
import type { ProviderDefinition } from './definition.js';
import { interpolate, templateValueNames, type TemplateOptions } from './template.js';

/**
 * What the host of one template alternative may be:
 * - `fixed`: the host is literal (`https://login.salesforce.com/…`) and must stay that host;
 * - `suffix`: values fill the left of the host and a literal domain ends it
 *   (`https://${connectionConfig.subdomain}.zendesk.com`): the host must end with `.zendesk.com`;
 * - `configured`: the host (or all of the origin) comes from configuration
 *   (`https://${connectionConfig.hostname}`, `${connectionConfig.instance_url}/…`,
 *   `https://accounts.zoho.${connectionConfig.extension}`): only the definition's `allowedHosts`.
 */
export type HostShape =
  | { kind: 'fixed'; host: string }
  | { kind: 'suffix'; domain: string; fields: string[] }
  | { kind: 'configured'; authority: string; fields: string[] };

/**
 * Fills a provider URL template — the authorization URL, the token and refresh URLs, an OAuth 1.0
 * request-token URL, a token exchange step, the proxy base URL — and checks its host against the
 * provider's rule ({@link assertAllowedHost}). Every URL Latchkey sends credentials or users to is
 * built here. Alternatives (`a || b`) are tried in order as by `interpolate`; the host rule is the
 * one of the alternative that was used.
 */
export function providerUrl(
  template: string,
  values: Record<string, unknown>,
  definition: Pick<ProviderDefinition, 'allowedHosts'>,
  options: TemplateOptions = {},
): string {
  const alternatives = template.split(' || ');
  for (const [index, raw] of alternatives.entries()) {
    const alternative = raw.trim();
    let url: string;
    try {
      url = interpolate(alternative, values, options);
    } catch (error) {
      if (error instanceof MissingTemplateValueError && index < alternatives.length - 1) continue;
      throw error;
    }
    assertAllowedHost(url, alternative, definition.allowedHosts);
    return url;
  }
  return template;
}

/**
 * The one host check: a URL filled from `alternative` must have a host its shape allows
 * ({@link hostShape}), or one of `allowedHosts` (`api.example.com`, or `*.example.com` for any
 * subdomain of it). Throws {@link DisallowedHostError} naming the field the host came from.
 */
export function assertAllowedHost(url: string, alternative: string, allowedHosts: readonly string[] | undefined): void {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return; // Not a URL: nothing can be sent; the caller's own parse reports it.
  }
  const shape = hostShape(alternative);
  if (shape.kind === 'fixed') {
    if (host === shape.host) return;
    throw new DisallowedHostError(host, undefined, `the provider's URL names ${shape.host}`);
  }
  if (hostAllowed(host, allowedHosts)) return;
  // The first field of the host names the error; the message lists them all.
  const field = shape.fields[0];
  const from = shape.fields.length > 1 ? ` (the host is made from ${shape.fields.join(', ')})` : '';
  if (shape.kind === 'suffix') {
    if (host.endsWith(shape.domain) && wellFormedHost(host)) return;
    throw new DisallowedHostError(host, field, `the provider's hosts end with ${shape.domain}${from}`);
  }
  throw new DisallowedHostError(
    host,
    field,
    `this host comes from configuration and is not in the integration’s allowedHosts${from}`,
  );
}

/** Whether `host` is one of `patterns`: an exact host, or `*.domain` for any host under `domain`. */
export function hostAllowed(host: string, patterns: readonly string[] | undefined): boolean {
  if (!patterns || !wellFormedHost(host)) return false;
  return patterns.some((raw) => {
    const pattern = raw.trim().toLowerCase();
    if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
    return host === pattern;
  });
}

function wellFormedHost(host: string): boolean {
  return host !== '' && !host.startsWith('.') && !host.endsWith('.') && !host.includes('..');
}

/** The host rule of one template alternative (see {@link HostShape}). */
export function hostShape(alternative: string): HostShape {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(alternative);
  const authority = authorityOf(alternative, scheme ? scheme[0].length : 0);
  const fields = valueNames(authority).filter((name) => name.startsWith('connectionConfig.'));
  if (!scheme) return { kind: 'configured', authority, fields };
  if (!authority.includes('${') && !authority.includes('{{')) {
    let host = authority;
    try {
      host = new URL(`https://${authority}`).hostname.toLowerCase();
    } catch {
      // Left as written; a URL filled from it will not match and is refused.
    }
    return { kind: 'fixed', host };
  }
  const literal = authority.slice(authority.lastIndexOf('}') + 1).replace(/:\d*$/, '');
  const dot = literal.indexOf('.');
  // Cut at a label boundary: `${x}-api.example.com` may only end with `.example.com`.
  const domain = dot < 0 ? '' : literal.slice(dot).toLowerCase();
  if (domain.length > 1 && domain.slice(1).includes('.') && !domain.endsWith('.') && !domain.includes('..')) {
    return { kind: 'suffix', domain, fields };
  }
  return { kind: 'configured', authority, fields };
}

/** The host part of a template: from `start` to the first `/`, `?`, `#` or `\` outside a `${…}`. */
function authorityOf(template: string, start: number): string {
  let depth = 0;
  for (let at = start; at < template.length; at += 1) {
    if (template.startsWith('${', at)) {
      depth += 1;
      at += 1;
      continue;
    }
    const char = template[at] as string;
    if (depth > 0) {
      if (char === '}') depth -= 1;
      continue;
    }
    if (char === '/' || char === '?' || char === '#' || char === '\\') return template.slice(start, at);
  }
  return template.slice(start);
}

function valueNames(text: string): string[] {
  try {
    return templateValueNames(text);
  } catch {
    return [];
  }
}

/**
 * The hosts a definition's URLs can reach when every configured part of their host is one of a
 * field's listed values (Nango's `enum`: clio's four regional hosts, Datadog's sites, Zoho's
 * domain extensions): each combination filled into the host. The importer makes them the
 * definition's `allowedHosts`, so a value stored before the list was checked still cannot leave it.
 */
export function enumeratedHosts(templates: readonly string[], enums: Record<string, readonly string[]>): string[] {
  const hosts = new Set<string>();
  for (const template of templates) {
    for (const raw of template.split(' || ')) {
      const shape = hostShape(raw.trim());
      if (shape.kind !== 'configured' || shape.fields.length === 0) continue;
      const names = shape.fields.map((field) => field.slice('connectionConfig.'.length));
      if (!names.every((name) => Object.hasOwn(enums, name))) continue;
      let filled = [shape.authority];
      for (const name of names) {
        const placeholder = `\${connectionConfig.${name}}`;
        filled = filled.flatMap((authority) =>
          (enums[name] ?? []).map((value) => authority.split(placeholder).join(value)),
        );
        if (filled.length > 1000) break;
      }
      for (const authority of filled) {
        if (authority.includes('${')) continue;
        try {
          const origin = /^[a-z][a-z0-9+.-]*:\/\//i.test(authority) ? authority : `https://${authority}`;
          hosts.add(new URL(origin).hostname.toLowerCase());
        } catch {
          // A value that makes no host allows none.
        }
      }
    }
  }
  return [...hosts];
}

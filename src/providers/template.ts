import { randomUUID } from 'node:crypto';
import { InvalidTemplateError, MissingTemplateValueError } from '../model/errors.js';
import { canonicalQuery } from '../signing/canonical-query.js';
import { formatUtc, offsetUnit, shiftUtc, type OffsetUnit } from './date-format.js';
import { TEMPLATE_FUNCTIONS, type TemplateMoment, type TemplateRequest } from './template-functions.js';

export type { TemplateMoment, TemplateRequest } from './template-functions.js';

/**
 * A parsed template. Values are substituted into the tree, never into the text, so a value that
 * happens to contain `${`, `,` or `)` cannot change what the template does.
 */
type TemplateNode =
  | { kind: 'text'; text: string }
  | { kind: 'value'; path: string }
  | { kind: 'now'; offset: { amount: number; unit: OffsetUnit } | undefined; format: string | undefined }
  | { kind: 'random' }
  | { kind: 'guid' }
  | { kind: 'call'; name: string; args: TemplateNode[][] };

export interface TemplateOptions {
  /** URI-encode substituted values (URLs). Default true for `interpolate`. */
  encode?: boolean;
  /** The instant and random id shared by every template of one request; fresh when omitted. */
  moment?: TemplateMoment;
  /** The API request being signed, for `${method}`, `${host}`, `${path}`, `${params}`… */
  request?: TemplateRequest;
}

/** A fresh instant and random id for one request's templates. */
export function templateMoment(now = Date.now()): TemplateMoment {
  return { now, random: randomUUID() };
}

/**
 * Fills a template from Nango's provider-file language:
 * - `${connectionConfig.x}`, `${credentials.x}`, `${accessToken}`… — a missing or empty value is
 *   an error naming it, never a URL with a hole in it; in URLs (`encode`), values are URI-encoded;
 * - `a || b` — the first alternative whose values are all present (a tenant URL, else the global one);
 * - `${now}` (ISO 8601), `${now:FORMAT}`, `${now+7:days:FORMAT}` — Day.js tokens and `add` units
 *   (milliseconds to years; months and years by the calendar), in UTC;
 * - `${random}` — a UUID, the same for every template of one request; `{{$guid}}` — a fresh UUID;
 * - `${base64(…)}`, `${sha256Hex(…)}`, `${sha256Base64(…)}`, `${hmacSha1Hex(message, key)}`,
 *   `${ed25519Sign(message, key)}`, `${awsSigV4(keyId, secret, region, service[, host[, sessionToken]])}` — nestable;
 * - in API requests, `${method}`, `${host}`, `${path}`, `${params}` (canonical parameters),
 *   `${urlCanonicalParams}`, `${bodyCanonicalParams}` (the raw body), `${contentType}`, `${endpoint}`.
 */
export function interpolate(template: string, values: Record<string, unknown>, options: TemplateOptions = {}): string {
  const alternatives = template.split(' || ');
  const moment = options.moment ?? templateMoment();
  for (const [index, alternative] of alternatives.entries()) {
    try {
      const nodes = parseTemplate(alternative.trim());
      return evaluate(nodes, values, options.encode ?? true, moment, options.request);
    } catch (error) {
      if (!(error instanceof MissingTemplateValueError) || index === alternatives.length - 1) throw error;
    }
  }
  return template;
}

/**
 * Fills templates throughout a JSON value (objects, arrays, strings). A string that is a single
 * placeholder takes the value itself, so numbers stay numbers.
 */
export function interpolateJson(
  template: unknown,
  values: Record<string, unknown>,
  options: Omit<TemplateOptions, 'encode'> & {
    /** Values that may be absent: a field that is only that value is then left out (an optional `connection_config` field). */
    optional?: ReadonlySet<string>;
  } = {},
): unknown {
  const moment = options.moment ?? templateMoment();
  const fill = (node: unknown): unknown => {
    if (typeof node === 'string') {
      const nodes = parseTemplate(node);
      const only = nodes.length === 1 ? nodes[0] : undefined;
      if (only?.kind === 'value') {
        const value = lookupValue(values, only.path, options.request);
        if (value === undefined || value === null || value === '') {
          if (options.optional?.has(only.path)) return OMITTED;
          throw new MissingTemplateValueError(only.path);
        }
        return value;
      }
      return interpolate(node, values, { ...options, moment, encode: false });
    }
    if (Array.isArray(node)) return node.map(fill).filter((item) => item !== OMITTED);
    if (node !== null && typeof node === 'object')
      return Object.fromEntries(
        Object.entries(node)
          .map(([key, value]) => [key, fill(value)])
          .filter(([, value]) => value !== OMITTED),
      );
    return node;
  };
  return fill(template);
}

const OMITTED = Symbol('omitted');

/** Reads a dotted path (`data.token`) out of a JSON value. */
export function lookup(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** The value names (`connectionConfig.subdomain`, `accessToken`…) a template reads, in every alternative. */
export function templateValueNames(template: string): string[] {
  const names: string[] = [];
  const walk = (nodes: TemplateNode[]) => {
    for (const node of nodes) {
      if (node.kind === 'value') names.push(node.path);
      else if (node.kind === 'call') node.args.forEach(walk);
    }
  };
  for (const alternative of template.split(' || ')) walk(parseTemplate(alternative.trim()));
  return names;
}

/** Checks that a template can be read (known functions, right argument counts); throws `InvalidTemplateError`. */
export function assertValidTemplate(template: string): void {
  for (const alternative of template.split(' || ')) parseTemplate(alternative.trim());
}

/** Names an API request supplies to `proxy.headers` templates; they may be empty (a GET has no body). */
export const REQUEST_VALUE_NAMES: readonly string[] = [
  'method',
  'host',
  'path',
  'params',
  'urlCanonicalParams',
  'bodyCanonicalParams',
  'contentType',
  'endpoint',
];
const REQUEST_VALUES = new Set(REQUEST_VALUE_NAMES);

function evaluate(
  nodes: TemplateNode[],
  values: Record<string, unknown>,
  encode: boolean,
  moment: TemplateMoment,
  request: TemplateRequest | undefined,
): string {
  let out = '';
  for (const node of nodes) {
    switch (node.kind) {
      case 'text':
        out += node.text;
        break;
      case 'value': {
        const value = lookupValue(values, node.path, request);
        const present =
          (typeof value === 'string' && (value !== '' || (request !== undefined && REQUEST_VALUES.has(node.path)))) ||
          typeof value === 'number' ||
          typeof value === 'boolean';
        if (!present) throw new MissingTemplateValueError(node.path);
        // A value that starts the URL is its origin (Salesforce's instance_url, a discovered
        // token endpoint): encoded it could never be a URL. The caller still checks the result.
        out += encode && out !== '' ? encodeURIComponent(String(value)) : String(value);
        break;
      }
      case 'now': {
        const instant = node.offset ? shiftUtc(moment.now, node.offset.amount, node.offset.unit) : moment.now;
        // Past ±8.64e15 ms (year ±275760) a Date is invalid.
        if (!(Math.abs(instant) <= 8.64e15))
          throw new InvalidTemplateError('A ${now…} offset puts the date outside what a date can hold');
        out += node.format === undefined ? new Date(instant).toISOString() : formatUtc(instant, node.format);
        break;
      }
      case 'random':
        out += moment.random;
        break;
      case 'guid':
        out += randomUUID();
        break;
      case 'call': {
        const fn = TEMPLATE_FUNCTIONS[node.name] as (typeof TEMPLATE_FUNCTIONS)[string];
        const args = node.args.map((arg) => evaluate(arg, values, false, moment, request));
        out += fn.call(args, moment, request);
        break;
      }
    }
  }
  return out;
}

function lookupValue(values: Record<string, unknown>, path: string, request: TemplateRequest | undefined): unknown {
  if (request && REQUEST_VALUES.has(path)) return requestValue(request, path);
  const nested = lookup(values, path);
  if (nested !== undefined) return nested;
  // Metadata lifted from a token response is stored under its dotted name (`installation.uuid`).
  const dot = path.indexOf('.');
  return dot > 0 ? flat(values[path.slice(0, dot)], path.slice(dot + 1)) : undefined;
}

function flat(container: unknown, key: string): unknown {
  return container !== null && typeof container === 'object' && Object.hasOwn(container, key)
    ? (container as Record<string, unknown>)[key]
    : undefined;
}

function requestValue(request: TemplateRequest, name: string): string {
  switch (name) {
    case 'method':
      return request.method;
    case 'host':
      return request.url.host;
    case 'path':
      return request.url.pathname;
    case 'params':
      return canonicalQuery(request.formBody ? new URLSearchParams(request.body) : request.url.searchParams);
    case 'urlCanonicalParams':
      return canonicalQuery(request.url.searchParams);
    case 'bodyCanonicalParams':
      return request.body;
    case 'contentType':
      return request.contentType;
    default:
      return request.endpoint;
  }
}

const parsed = new Map<string, TemplateNode[]>();

/** Parses one alternative of a template; results are cached, since definitions repeat them on every request. */
function parseTemplate(template: string): TemplateNode[] {
  const cached = parsed.get(template);
  if (cached) return cached;
  const parser = new Parser(template);
  const nodes = parser.sequence('end');
  if (parsed.size >= 2000) parsed.clear();
  parsed.set(template, nodes);
  return nodes;
}

const NAME = /[A-Za-z_][\w.-]*/y;
const NOW_SPEC = /^(?:([+-]\d+):([A-Za-z]+))?(?::(.*))?$/s;

class Parser {
  #at = 0;
  constructor(readonly source: string) {}

  /** Text and `${…}` up to the end, or up to a top-level `,` or `)` inside a function's arguments. */
  sequence(until: 'end' | 'argument'): TemplateNode[] {
    const nodes: TemplateNode[] = [];
    let text = '';
    let depth = 0;
    const flush = () => {
      if (text) nodes.push({ kind: 'text', text });
      text = '';
    };
    while (this.#at < this.source.length) {
      if (this.source.startsWith('${', this.#at)) {
        flush();
        this.#at += 2;
        nodes.push(this.#expression());
        continue;
      }
      if (this.source.startsWith('{{$guid}}', this.#at)) {
        flush();
        this.#at += '{{$guid}}'.length;
        nodes.push({ kind: 'guid' });
        continue;
      }
      const char = this.source[this.#at] as string;
      if (until === 'argument') {
        if ((char === ',' || char === ')') && depth === 0) break;
        if (char === '(') depth += 1;
        if (char === ')') depth -= 1;
      }
      text += char;
      this.#at += 1;
    }
    flush();
    return nodes;
  }

  #expression(): TemplateNode {
    const name = this.#name();
    if (!name) throw this.#error('a name after ${');
    this.#at += name.length;
    const next = this.source[this.#at];
    if (name === 'now' && (next === '+' || next === '-' || next === ':')) {
      const end = this.source.indexOf('}', this.#at);
      if (end < 0) throw this.#error('} closing ${now…}');
      const spec = NOW_SPEC.exec(this.source.slice(this.#at, end));
      if (!spec) throw this.#error('${now+N:unit:FORMAT}');
      this.#at = end + 1;
      return {
        kind: 'now',
        offset: spec[1] ? { amount: Number(spec[1]), unit: offsetUnit(spec[2] as string) } : undefined,
        format: spec[3] || undefined,
      };
    }
    if (next === '(') {
      this.#at += 1;
      const fn = TEMPLATE_FUNCTIONS[name];
      if (!fn) throw new InvalidTemplateError(`Unknown template function ${name}() in "${this.source}"`);
      const args: TemplateNode[][] = [];
      for (;;) {
        args.push(trimmed(this.sequence('argument')));
        const stop = this.source[this.#at];
        this.#at += 1;
        if (stop === ')') break;
        if (stop !== ',') throw this.#error(`) closing ${name}(`);
      }
      if (this.source[this.#at] !== '}') throw this.#error(`} after ${name}(…)`);
      this.#at += 1;
      const [min, max] = fn.arity;
      if (args.length < min || args.length > max)
        throw new InvalidTemplateError(
          `${name}() takes ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? '' : 's'} in "${this.source}"`,
        );
      return { kind: 'call', name, args };
    }
    if (next !== '}') throw this.#error(`} after \${${name}`);
    this.#at += 1;
    if (name === 'now') return { kind: 'now', offset: undefined, format: undefined };
    if (name === 'random') return { kind: 'random' };
    return { kind: 'value', path: name };
  }

  #name(): string | undefined {
    // `now-2:hours` would otherwise read as a name with a hyphen.
    if (this.source.startsWith('now', this.#at) && /[+:-]/.test(this.source[this.#at + 3] ?? '')) return 'now';
    NAME.lastIndex = this.#at;
    return NAME.exec(this.source)?.[0];
  }

  #error(expected: string): InvalidTemplateError {
    return new InvalidTemplateError(`Expected ${expected} at position ${this.#at} of template "${this.source}"`);
  }
}

// `f(a, b)`: the space after a comma separates arguments, it is not part of them.
function trimmed(nodes: TemplateNode[]): TemplateNode[] {
  const first = nodes[0];
  const last = nodes[nodes.length - 1];
  const out = [...nodes];
  if (first?.kind === 'text') out[0] = { kind: 'text', text: first.text.replace(/^ +/, '') };
  if (last?.kind === 'text') {
    const index = out.length - 1;
    out[index] = { kind: 'text', text: (out[index] as { text: string }).text.replace(/ +$/, '') };
  }
  return out.filter((node) => node.kind !== 'text' || node.text !== '');
}

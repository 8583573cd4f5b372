import { InvalidCredentialsError, InvalidRequestError } from '../model/errors.js';
import { checkedUrl, type HttpSettings } from '../provider-http/http.js';
import type { ProxyDefinition } from '../providers/definition.js';
import { providerUrl } from '../providers/provider-url.js';
import { interpolate, interpolateJson, templateMoment, type TemplateRequest } from '../providers/template.js';
import type { Credentials } from '../model/credentials.js';
import type { AuthStrategy, SignableRequest, StrategyContext } from '../modes/strategy.js';
import { isPlainObject } from '../model/json.js';

/**
 * What `manager.fetch` takes besides a path: `fetch`'s init, with a form body signed by OAuth 1.0
 * modes. A `ReadableStream` body streams to the provider (sent once: no retry, no refresh-and-retry).
 */
export type ProxyInit = Omit<RequestInit, 'body'> & {
  body?: string | URLSearchParams | Uint8Array | ReadableStream<Uint8Array> | null;
  /**
   * Sends again up to this many times (default 0, as Nango) on 429, on 5xx for idempotent
   * methods, and on the statuses in `retryOn`, waiting what the provider's `Retry-After` (or its
   * declared rate-limit headers) asks, else an exponential back-off. At most 10.
   */
  retries?: number;
  /** More statuses to retry, for any method: a POST is retried on a 5xx only when listed here. */
  retryOn?: number[];
  /**
   * A literal base URL replacing the provider's (Nango's `Base-Url-Override`). Its host goes
   * through the egress policy: private, loopback and link-local addresses are refused unless
   * `http.allowPrivateNetworks`.
   */
  baseUrlOverride?: string;
};

/** A request to the provider's API, authenticated as the provider wants. */
export interface ProxyRequest {
  url: string;
  init: RequestInit;
}

const INJECTS_CREDENTIALS = /\$\{(accessToken|apiKey|credentials\.)/;
/** Header templates that sign the body (AWS SigV4, a form's canonical parameters): they need it whole. */
const SIGNS_BODY = /awsSigV4\(|\$\{(params|bodyCanonicalParams)\}/;

/**
 * Whether the request's host can come from data rather than from the provider's definition: a
 * `Base-Url-Override`, or a base URL whose scheme or host is a template (`https://${connectionConfig.host}`).
 * Those requests go through the egress policy (`provider-http/egress.ts`).
 */
export function hostFromData(proxy: ProxyDefinition, baseUrlOverride: string | undefined): boolean {
  return baseUrlOverride !== undefined || /^[^/]*(\/\/)?[^/]*\$\{/.test(proxy.baseUrl);
}

/**
 * Builds one API request for a connection: the provider's base URL (which may come from the
 * connection, e.g. Salesforce's `instance_url`), its fixed headers, query and body fields, and the
 * credentials injected the way that provider takes them — a per-request signature (OAuth 1.0,
 * TBA, WSSE, Basic), the provider's own header, query or body template (`X-Shopify-Access-Token`,
 * `Ghost …`, `?api_key=`, Mandrill's `key`, AWS SigV4 and Duo signatures over this very request),
 * or else `Authorization: Bearer`.
 */
export function buildProxyRequest(
  proxy: ProxyDefinition,
  strategy: AuthStrategy<Credentials>,
  credentials: Credentials,
  context: StrategyContext,
  path: string,
  init: ProxyInit,
  http: HttpSettings,
  baseUrlOverride?: string,
): ProxyRequest {
  if (typeof path !== 'string' || /^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('//') || /[\r\n]/.test(path)) {
    // An absolute URL would send this connection's credentials to a host of the caller's choosing.
    throw new InvalidRequestError('path must be relative to the provider’s API base URL', 'path');
  }
  assertProxyInit(init);
  const presented =
    strategy.templateCredentials?.(credentials) ?? (strategy.present ? strategy.present(credentials) : credentials);
  const values = {
    connectionConfig: context.connectionConfig,
    credentials: presented,
    accessToken: strategy.accessToken?.(credentials),
    ...strategy.templateValues?.(credentials),
    // Some APIs want the app's own client id (Etsy's x-api-key) next to the user's token.
    clientId: context.integration?.clientId,
    clientSecret: context.integration?.clientSecret,
  };
  // Every template of this request sees the same instant and random id, so a signature matches
  // the date and request-id headers sent beside it.
  const moment = templateMoment(context.now);
  // An override is a literal URL, never a template: it must not be able to read `${credentials…}`.
  const base = checkedUrl(
    baseUrlOverride ??
      literalBaseUrl(proxy.baseUrl) ??
      providerUrl(proxy.baseUrl, values, context.integration?.definition ?? {}, { encode: false, moment }),
    http,
  );
  const url = new URL(`${base.href.replace(/\/$/, '')}/${path.replace(/^\//, '')}`);
  // `..` segments (plain or percent-encoded) could climb out of the base path, to another
  // tenant's prefix on a shared host, carrying this connection's credentials.
  const basePath = base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`;
  if (url.origin !== base.origin || !`${url.pathname}/`.startsWith(basePath))
    throw new InvalidRequestError('path must stay under the provider’s API base URL', 'path');
  for (const [name, template] of Object.entries(proxy.query ?? {}))
    url.searchParams.set(name, interpolate(template, values, { encode: false, moment }));

  const method = (init.method ?? 'GET').toUpperCase();
  let headers: Headers;
  try {
    headers = new Headers(init.headers);
  } catch {
    throw new InvalidRequestError('init.headers must be header names and values', 'init.headers');
  }
  const providerInjects = injectsCredentials(proxy);
  const body = proxy.body
    ? withBodyFields(init.body, interpolateJson(proxy.body, values, { moment }), headers)
    : init.body;
  // Set before signing: AWS Signature V4 signs the content type.
  if (body instanceof URLSearchParams && !headers.has('content-type')) {
    headers.set('content-type', 'application/x-www-form-urlencoded');
  }
  if (strategy.sign) {
    const signable: SignableRequest = {
      method,
      url: url.href,
      ...(body instanceof URLSearchParams ? { form: body } : body === undefined || body === null ? {} : { body }),
      ...(headers.has('content-type') ? { contentType: headers.get('content-type') as string } : {}),
    };
    for (const [name, value] of Object.entries(strategy.sign(credentials, signable, context))) {
      setHeader(headers, name, value);
    }
  } else if (!providerInjects && values.accessToken) {
    setHeader(headers, 'Authorization', `Bearer ${values.accessToken}`);
  }
  const headerTemplates = Object.entries(proxy.headers ?? {});
  const streamed = body instanceof ReadableStream;
  if (streamed && headerTemplates.some(([, template]) => SIGNS_BODY.test(template)))
    throw new InvalidRequestError(
      'this provider signs the request body: send it whole (a string or bytes), not as a stream',
      'init.body',
    );
  // Only header templates read the request (signatures); most providers have none to fill.
  const request =
    headerTemplates.length > 0
      ? templateRequest(method, url, path, body, headers.get('content-type') ?? '')
      : undefined;
  for (const [name, template] of headerTemplates)
    setHeader(headers, name, interpolate(template, values, { encode: false, moment, ...(request ? { request } : {}) }));
  // Headers a signature covers besides its own (AWS's x-amz-content-sha256, x-amz-security-token).
  for (const [name, value] of Object.entries(request?.addedHeaders ?? {})) setHeader(headers, name, value);
  return {
    url: url.href,
    init: {
      ...init,
      method,
      headers,
      // Node's fetch sends any Uint8Array; the DOM typings (pulled in by xml-crypto's) want an ArrayBuffer-backed one.
      body: (body ?? null) as BodyInit | null,
      // fetch sends a stream only half-duplex: the whole request before reading the answer.
      ...(streamed ? { duplex: 'half' } : {}),
      // A redirect to another host must not carry provider-specific credential headers along.
      redirect: init.redirect ?? 'manual',
    },
  };
}

// What a definition's proxy section says, worked out once per section rather than per request.
const injecting = new WeakMap<ProxyDefinition, boolean>();
const literalBases = new Map<string, string>();
const MAX_LITERAL_BASES = 1_000;

/** Whether the definition's own headers, query or body carry the credentials (else `Authorization: Bearer`). */
function injectsCredentials(proxy: ProxyDefinition): boolean {
  let injects = injecting.get(proxy);
  if (injects === undefined) {
    injects =
      Object.values({ ...proxy.headers, ...proxy.query }).some((value) => INJECTS_CREDENTIALS.test(value)) ||
      INJECTS_CREDENTIALS.test(JSON.stringify(proxy.body ?? {}));
    injecting.set(proxy, injects);
  }
  return injects;
}

/**
 * The base URL of a template with nothing to fill (most providers': `https://api.hubspot.com`), as
 * `providerUrl` made it the first time — it cannot differ from one request to the next; `undefined`
 * for a template (filled, and its host checked, on every request).
 */
function literalBaseUrl(template: string): string | undefined {
  if (template.includes('$') || template.includes('{')) return undefined;
  let url = literalBases.get(template);
  if (url === undefined) {
    url = providerUrl(template, {}, {}, { encode: false });
    if (literalBases.size >= MAX_LITERAL_BASES) literalBases.clear();
    literalBases.set(template, url);
  }
  return url;
}

/**
 * `Headers.set` quotes a refused value in its TypeError; a credential with a line break in it
 * must not end up in an error message.
 */
function setHeader(headers: Headers, name: string, value: string): void {
  try {
    headers.set(name, value);
  } catch {
    throw new InvalidCredentialsError(
      `The ${name} header cannot carry these credentials (a line break or control character)`,
      'credentials',
    );
  }
}

/** What `fetch` would refuse with a bare TypeError, refused with a typed error before anything is sent. */
function assertProxyInit(init: ProxyInit): void {
  if (!isPlainObject(init)) throw new InvalidRequestError('init must be an object like fetch’s', 'init');
  if (init.method !== undefined && (typeof init.method !== 'string' || !/^[A-Za-z]{1,16}$/.test(init.method)))
    throw new InvalidRequestError('init.method must be an HTTP method name', 'init.method');
  const { body } = init;
  if (
    body !== undefined &&
    body !== null &&
    typeof body !== 'string' &&
    !(body instanceof URLSearchParams) &&
    !(body instanceof Uint8Array) &&
    !(body instanceof ReadableStream)
  )
    throw new InvalidRequestError(
      'init.body must be a string, URLSearchParams, Uint8Array or ReadableStream',
      'init.body',
    );
}

/**
 * The request body with the provider's body fields added (Mandrill's `key`, Sage's `auth`): to a
 * JSON object or a form, or as the whole JSON body when there is none. The caller's fields win.
 */
function withBodyFields(body: ProxyInit['body'], fields: unknown, headers: Headers): ProxyInit['body'] {
  const added = fields as Record<string, unknown>;
  if (body === undefined || body === null) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return JSON.stringify(added);
  }
  if (body instanceof URLSearchParams) {
    const form = new URLSearchParams(body);
    for (const [name, value] of Object.entries(added)) if (!form.has(name)) form.set(name, String(value));
    return form;
  }
  if (typeof body === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return body;
    }
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
      return JSON.stringify({ ...added, ...(parsed as Record<string, unknown>) });
  }
  return body;
}

/** What signing templates (`${method}`, `${params}`, `awsSigV4(…)`) see of the outgoing request. */
function templateRequest(
  method: string,
  url: URL,
  endpoint: string,
  body: ProxyInit['body'],
  contentType: string,
): TemplateRequest {
  const text =
    body === undefined || body === null || body instanceof ReadableStream
      ? ''
      : typeof body === 'string'
        ? body
        : body instanceof URLSearchParams
          ? body.toString()
          : Buffer.from(body).toString('utf8');
  const formBody = body instanceof URLSearchParams || contentType.startsWith('application/x-www-form-urlencoded');
  return {
    method,
    url,
    endpoint: `/${endpoint.replace(/^\//, '')}`,
    body: text,
    ...(body instanceof Uint8Array ? { bodyBytes: body } : {}),
    contentType,
    formBody,
    addedHeaders: {},
  };
}

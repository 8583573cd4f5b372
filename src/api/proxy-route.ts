/**
 * `/proxy/*`: Nango's proxy over `manager.fetch`, so the one place that decides where credentials
 * go (src/proxy/) decides here too. The connection and the options come in Nango's headers
 * (`Connection-Id`, `Provider-Config-Key`, `Retries`, `Retry-On`, `Base-Url-Override`,
 * `Decompress`), the caller's own headers for the provider as `Nango-Proxy-<name>`. Bodies stream
 * both ways: an upload goes to the provider as it arrives, the answer back as it comes.
 */
import * as v from 'valibot';
import type { ConnectionManager } from '../manager.js';
import type { ProxyInit } from '../proxy/proxy-request.js';
import { NodeBodyStream } from '../provider-http/node-body.js';
import { StreamResponse } from '../provider-http/stream-response.js';
import { type Caller, mayOverrideBaseUrl } from './access.js';
import { NodeApiRequest } from './node-request.js';
import type { ApiRequest, HeaderLookup } from './request-view.js';
import { ApiFailure } from './respond.js';

/** What the route reads of the route context (routes.ts). */
interface ProxyRouteContext {
  manager: ConnectionManager;
  /** Read only for a body: the headers, method and signal come from `view`, with no web `Request` made. */
  request: Request;
  view: ApiRequest;
  url: URL;
  caller: Caller;
  params: Record<string, string>;
  maxBodyBytes: number;
}

const Id = v.pipe(v.string(), v.minLength(1, 'is required'), v.maxLength(255, 'must be at most 255 characters'));

/** Nango's proxy headers, lower-cased as `Headers` gives them. */
const ProxyHeaders = v.object({
  'connection-id': Id,
  'provider-config-key': Id,
  retries: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,2}$/, 'must be a whole number'),
      v.transform(Number),
      v.maxValue(10, 'must be at most 10'),
    ),
  ),
  'retry-on': v.optional(v.pipe(v.string(), v.regex(/^\d{3}(,\d{3})*$/, 'must be HTTP statuses separated by commas'))),
  // The Node SDK always sends it, empty when not overriding.
  'base-url-override': v.optional(v.union([v.literal(''), v.pipe(v.string(), v.url('must be an absolute URL'))])),
  decompress: v.optional(v.picklist(['true', 'false'], "must be 'true' or 'false'")),
});

/** Request headers never passed to the provider, whatever their prefix: hop-by-hop or ours. */
const NOT_FORWARDED = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

/**
 * Answer headers not passed back: hop-by-hop ones. The encoding and length of a body that was
 * decoded on the way go too (so `Decompress: false` cannot give the compressed bytes: they are
 * gone); an answer that was not encoded keeps its `Content-Length`.
 */
const NOT_RETURNED = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export async function proxyRequest(context: ProxyRouteContext): Promise<Response> {
  const { manager, view, url, caller, params, maxBodyBytes } = context;
  const headers = readHeaders(view.headers);
  const override = headers['base-url-override'] || undefined;
  if (override !== undefined && !mayOverrideBaseUrl(caller)) {
    throw new ApiFailure(
      403,
      'forbidden',
      'Base-Url-Override sends the credentials to another host: it needs a key that may read credentials.',
    );
  }
  // A plain record: buildProxyRequest makes the one `Headers` of the request from it.
  const forwarded: Record<string, string> = {};
  let contentType: string | undefined;
  view.headers.forEach((value, name) => {
    if (name === 'content-type') contentType = value;
    else if (name.startsWith('nango-proxy-')) {
      const bare = name.slice('nango-proxy-'.length);
      if (bare !== '' && !NOT_FORWARDED.has(bare)) forwarded[bare] = value;
    }
  });
  if (contentType !== undefined && forwarded['content-type'] === undefined) forwarded['content-type'] = contentType;
  const init: ProxyInit = {
    method: view.method,
    headers: forwarded,
    signal: view.signal,
    body: view.method === 'GET' ? null : await bodyOf(context, maxBodyBytes),
  };
  if (headers.retries !== undefined && headers.retries > 0) init.retries = headers.retries;
  if (headers['retry-on'] !== undefined) init.retryOn = headers['retry-on'].split(',').map(Number);
  if (override !== undefined) init.baseUrlOverride = override;
  const answer = await manager.fetch(
    { connectionId: headers['connection-id'], providerConfigKey: headers['provider-config-key'] },
    `${params.path ?? ''}${url.search}`,
    init,
  );
  // The provider's body goes back as the Node stream it came as (node-listener.ts pipes it), in
  // the same answer with the headers that do not go back taken out.
  if (answer instanceof StreamResponse && answer.relay(returnedHeader)) return answer;
  const returned = new Headers();
  for (const [name, value] of answer.headers) if (returnedHeader(name, true)) returned.append(name, value);
  for (const cookie of answer.headers.getSetCookie()) returned.append('set-cookie', cookie);
  return new Response(answer.body, { status: answer.status, statusText: answer.statusText, headers: returned });
}

/** Whether an answer header goes back to the client (`set-cookie` from a `Headers` is added apart). */
function returnedHeader(name: string, decoded: boolean): boolean {
  if (NOT_RETURNED.has(name) || name.startsWith('access-control-')) return false;
  return !decoded || (name !== 'content-encoding' && name !== 'content-length');
}

function readHeaders(headers: HeaderLookup): v.InferOutput<typeof ProxyHeaders> {
  const given: Record<string, string> = {};
  for (const name of [
    'connection-id',
    'provider-config-key',
    'retries',
    'retry-on',
    'base-url-override',
    'decompress',
  ]) {
    const value = headers.get(name);
    if (value !== null) given[name] = value;
  }
  const result = v.safeParse(ProxyHeaders, given);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const field = issue.path?.map((item) => String(item.key)).join('.') ?? 'headers';
  // The header's name and what is wrong, never its value.
  const problem =
    issue.input === undefined ? 'is required' : /^Invalid/.test(issue.message) ? 'is invalid' : issue.message;
  throw new ApiFailure(400, 'invalid_headers', `Header ${field} ${problem}.`);
}

/**
 * The body to send: small bodies of known length (up to the API's body limit) are read whole, so
 * a refresh-and-retry or `Retries` can send them again; larger or chunked ones stream through
 * (sent once, never retried) — on the Node listener as the Node stream they came as.
 */
async function bodyOf(context: ProxyRouteContext, maxBodyBytes: number): Promise<ProxyInit['body']> {
  const length = Number(context.view.headers.get('content-length') ?? NaN);
  if (!(Number.isFinite(length) && length <= maxBodyBytes) && context.view instanceof NodeApiRequest) {
    const node = context.view.nodeBody();
    if (node !== undefined) return node === null ? null : new NodeBodyStream(node);
  }
  const request = context.request;
  if (request.body === null) return null;
  if (Number.isFinite(length) && length <= maxBodyBytes) return new Uint8Array(await request.arrayBuffer());
  return request.body;
}

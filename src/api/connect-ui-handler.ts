/**
 * Serves the Connect UI: the page `openConnectUI({ baseURL })` from `@nangohq/frontend` frames, or
 * that a connect session's `connect_link` opens. The page's files are built by `npm run build`
 * (scripts/build-connect-ui.ts) and shipped in the package; they are read and compressed once,
 * when the handler is made.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import { InvalidRequestError } from '../model/errors.js';

/** Options of {@link createConnectUiHandler}. */
export interface ConnectUiHandlerOptions {
  /** Where the page is served: requests under it are answered, the rest get 404. Default `/connect-ui`. */
  basePath?: string;
  /**
   * The app origins that may show the page in a frame (`https://app.example.com`): its
   * `Content-Security-Policy: frame-ancestors`. Default none: the page can be opened, not framed.
   */
  allowedOrigins?: string[];
  /**
   * The Latchkey API the page calls when it is opened without an `apiURL` parameter (a
   * `connect_link`): a path on the page's origin (`/latchkey`) or a URL. Default `/`. An absolute
   * URL's origin is added to the page's `connect-src`; an `apiURL` parameter naming any other
   * origin is refused by the browser.
   */
  apiUrl?: string;
}

interface Asset {
  type: string;
  /** `immutable`: a hashed name; else the HTML, revalidated each time. */
  immutable: boolean;
  identity: Buffer;
  gzip: Buffer;
  br: Buffer;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?$|^https?:\/\/\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;

/**
 * The Connect UI as a `Request` → `Response` handler: mount it in any app beside
 * `createApiHandler` (`latchkey serve` mounts it at `/connect-ui/`). Pages are answered with a
 * strict Content-Security-Policy (scripts and styles from this origin only, `frame-ancestors`
 * from `allowedOrigins`), assets under content-hashed names cached for good, the page itself
 * revalidated, each compressed with Brotli or gzip as the browser accepts.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createApiHandler, createConnectUiHandler, toNodeListener } from 'latchkey/http';
 * const api = createApiHandler({ manager, apiKeys: [{ key: process.env.LATCHKEY_API_KEY! }] });
 * const ui = createConnectUiHandler({ allowedOrigins: ['https://app.example.com'] });
 * createServer(
 *   toNodeListener((request) => (new URL(request.url).pathname.startsWith('/connect-ui') ? ui(request) : api(request))),
 * ).listen(3003, '127.0.0.1');
 * ```
 */
export function createConnectUiHandler(options: ConnectUiHandlerOptions = {}): (request: Request) => Promise<Response> {
  const base = normalizedBase(options.basePath ?? '/connect-ui');
  const origins = options.allowedOrigins ?? [];
  origins.forEach((origin, index) => {
    if (typeof origin !== 'string' || !ORIGIN.test(origin)) {
      throw new InvalidRequestError(
        `allowedOrigins[${index}] must be an origin such as https://app.example.com (scheme, host, port; no path)`,
        `allowedOrigins[${index}]`,
      );
    }
  });
  const apiUrl = options.apiUrl ?? '/';
  let apiOrigin: string | undefined;
  if (/^https?:\/\//.test(apiUrl)) apiOrigin = new URL(apiUrl).origin;
  else if (!apiUrl.startsWith('/'))
    throw new InvalidRequestError('apiUrl must be a path (/latchkey) or an http(s) URL', 'apiUrl');
  // Read and compressed on first use: a server whose page is never asked for pays nothing.
  let assets: Map<string, Asset> | undefined;
  const policy = contentSecurityPolicy(origins, apiOrigin);

  return async (request) => {
    const url = new URL(request.url);
    if (url.pathname === base) return redirect(`${base}/${url.search}`);
    if (!url.pathname.startsWith(`${base}/`)) return text(404, 'Not found.');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const response = text(405, 'Method not allowed.');
      response.headers.set('allow', 'GET, HEAD');
      return response;
    }
    assets ??= loadAssets(apiUrl);
    if (assets.size === 0) return text(503, 'The Connect UI is not built: run npm run build.');
    const rest = url.pathname.slice(base.length + 1);
    const asset = assets.get(rest === '' ? 'index.html' : rest);
    if (!asset) return text(404, 'Not found.');
    const headers = new Headers({
      'content-type': asset.type,
      'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      etag: asset.etag,
      vary: 'accept-encoding',
      'x-content-type-options': 'nosniff',
      // A connect_link carries the session token in its query: never send it on.
      'referrer-policy': 'no-referrer',
    });
    if (asset.type.startsWith('text/html')) headers.set('content-security-policy', policy);
    if (request.headers.get('if-none-match') === asset.etag) return new Response(null, { status: 304, headers });
    const accepted = request.headers.get('accept-encoding') ?? '';
    let body = asset.identity;
    if (/\bbr\b/.test(accepted)) {
      body = asset.br;
      headers.set('content-encoding', 'br');
    } else if (/\bgzip\b/.test(accepted)) {
      body = asset.gzip;
      headers.set('content-encoding', 'gzip');
    }
    headers.set('content-length', String(body.length));
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers });
  };
}

/**
 * The page's policy: nothing but this origin's scripts, styles and images; requests to this
 * origin and the API; no forms posted anywhere, no `<base>`, framed only by the listed origins.
 */
function contentSecurityPolicy(origins: string[], apiOrigin: string | undefined): string {
  const connect = ["'self'"];
  if (apiOrigin !== undefined) connect.push(apiOrigin, apiOrigin.replace(/^http/, 'ws'));
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${connect.join(' ')}`,
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${origins.length > 0 ? origins.join(' ') : "'none'"}`,
  ].join('; ');
}

/** The built files: next to this module once built (dist/connect-ui), or in dist/ when run from source. */
function assetsDirectory(): string | undefined {
  for (const relative of ['../../connect-ui/', '../../dist/connect-ui/']) {
    const directory = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(`${directory}index.html`)) return directory;
  }
  return undefined;
}

/** The built files, compressed; none when the page is not built (a source checkout before `npm run build`). */
function loadAssets(apiUrl: string): Map<string, Asset> {
  const directory = assetsDirectory();
  const assets = new Map<string, Asset>();
  if (directory === undefined) return assets;
  for (const name of readdirSync(directory, { recursive: true, encoding: 'utf8' })) {
    const type = TYPES[name.slice(name.lastIndexOf('.'))];
    // `.index-<pid>.html`: a build writing its page at this moment.
    if (type === undefined || /(^|[/\\])\./.test(name)) continue;
    let content = readFileSync(`${directory}${name}`);
    if (name === 'index.html') {
      content = Buffer.from(content.toString('utf8').replace('%LATCHKEY_API_URL%', escapeAttribute(apiUrl)));
    }
    assets.set(name.replaceAll('\\', '/'), {
      type,
      immutable: name !== 'index.html',
      identity: content,
      gzip: gzipSync(content, { level: 9 }),
      br: brotliCompressSync(content, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } }),
      etag: `"${hash(content)}"`,
    });
  }
  return assets;
}

function hash(content: Buffer): string {
  // FNV-1a: an ETag only has to change when the bytes do.
  let value = 0x811c9dc5;
  for (const byte of content) value = Math.imul(value ^ byte, 0x01000193) >>> 0;
  return `${content.length.toString(16)}-${value.toString(16)}`;
}

function normalizedBase(path: string): string {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new InvalidRequestError('basePath must start with /', 'basePath');
  }
  return path.replace(/\/+$/, '');
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function redirect(location: string): Response {
  return new Response(null, { status: 308, headers: { location, 'cache-control': 'no-cache' } });
}

function text(status: number, body: string): Response {
  return new Response(body, {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' },
  });
}

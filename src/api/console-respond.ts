/** How the console answers: security headers on every response, caching by kind, compression. */
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/**
 * No script at all, styles only from this origin's stylesheet, forms only to this origin, never
 * framed: the console is server-rendered HTML, so it needs nothing more.
 */
export const CONSOLE_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** Pages and their data change with every request and may show what only an admin may see. */
export const NO_STORE = 'no-store';
/** A file named by its content hash never changes. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Bodies smaller than this go uncompressed: the headers would cost more than they save. */
const MIN_COMPRESS = 512;

/**
 * A response with the console's headers, compressed with Brotli or gzip when the client accepts
 * them (`Vary: Accept-Encoding` so caches keep the variants apart).
 */
export function consoleResponse(
  request: Request,
  status: number,
  body: string | null,
  headers: Record<string, string>,
): Response {
  const all = new Headers({ ...SECURITY_HEADERS, ...headers });
  if (body === null) return new Response(null, { status, headers: all });
  all.set('vary', 'accept-encoding');
  const raw = Buffer.from(body, 'utf8');
  const encoding = raw.byteLength < MIN_COMPRESS ? undefined : pickEncoding(request.headers.get('accept-encoding'));
  const payload =
    encoding === 'br'
      ? brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } })
      : encoding === 'gzip'
        ? gzipSync(raw)
        : raw;
  if (encoding) all.set('content-encoding', encoding);
  all.set('content-length', String(payload.byteLength));
  return new Response(request.method === 'HEAD' ? null : payload, { status, headers: all });
}

/** Brotli if accepted, else gzip, else none; `q=0` refuses an encoding. */
function pickEncoding(header: string | null): 'br' | 'gzip' | undefined {
  const accepted = new Set(
    (header ?? '')
      .split(',')
      .map((part) => part.trim().toLowerCase().split(';'))
      .filter(([, q]) => q === undefined || !/^\s*q=0(\.0*)?\s*$/.test(q))
      .map(([name]) => name),
  );
  if (accepted.has('br')) return 'br';
  if (accepted.has('gzip')) return 'gzip';
  return undefined;
}

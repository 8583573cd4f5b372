import { createHash, createHmac } from 'node:crypto';
import { canonicalQuery, encodeRfc3986 } from './canonical-query.js';

/** One request to sign with AWS Signature Version 4, header-based (the `Authorization` header). */
export interface SigV4Request {
  method: string;
  url: URL;
  /** Signed when the request sends one. */
  contentType?: string;
  /** The payload as sent: text (hashed as UTF-8) or bytes. */
  body: string | Uint8Array;
  /** `YYYYMMDDTHHmmssZ`; the same value must go out as `x-amz-date`. */
  amzDate: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary (STS) credentials: sent and signed as `x-amz-security-token`. */
  sessionToken?: string;
  region: string;
  service: string;
}

/** What a signed request carries: the `Authorization` value and the `x-amz-*` headers it signed. */
export interface SigV4Signature {
  authorization: string;
  /** `x-amz-date`, and `x-amz-content-sha256` (S3) and `x-amz-security-token` when signed: all must be sent. */
  headers: Record<string, string>;
}

/**
 * AWS SigV4 (docs.aws.amazon.com, "Create a signed AWS API request"): canonical request → string
 * to sign → HMAC chain of date, region, service. Signs `content-type` (when present), `host`,
 * `x-amz-date`, for S3 `x-amz-content-sha256`, and `x-amz-security-token` with a session token —
 * no other header, since Nango's templates send exactly these. Written out rather than taken from
 * `aws4` (the test oracle), because that package signs every header it is given and adds its own.
 *
 * S3 differs from every other service, as S3 computes it: the path is encoded once, not twice, and
 * not normalized; a `+` in the path is a space; a repeated query parameter counts with its first
 * value only; the payload hash is sent as `x-amz-content-sha256`.
 */
export function signAwsV4(request: SigV4Request): SigV4Signature {
  const s3 = request.service === 's3';
  const payloadHash = createHash('sha256')
    .update(typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body)
    .digest('hex');
  const sent: Record<string, string> = { 'x-amz-date': request.amzDate };
  if (s3) sent['x-amz-content-sha256'] = payloadHash;
  if (request.sessionToken) sent['x-amz-security-token'] = request.sessionToken;
  // Sorted by name: content-type < host < x-amz-content-sha256 < x-amz-date < x-amz-security-token.
  const headers: Array<[string, string]> = [];
  const contentType = request.contentType?.trim().replace(/\s+/g, ' ');
  if (contentType) headers.push(['content-type', contentType]);
  headers.push(['host', request.url.host]);
  for (const name of ['x-amz-content-sha256', 'x-amz-date', 'x-amz-security-token'])
    if (sent[name] !== undefined) headers.push([name, (sent[name] as string).trim().replace(/\s+/g, ' ')]);
  const signedHeaders = headers.map(([name]) => name).join(';');
  const canonicalRequest = [
    request.method.toUpperCase(),
    s3 ? s3Path(request.url.pathname) : servicePath(request.url.pathname),
    canonicalQuery(s3 ? firstValues(request.url.searchParams) : request.url.searchParams),
    headers.map(([name, value]) => `${name}:${value}\n`).join(''),
    signedHeaders,
    payloadHash,
  ].join('\n');
  const day = request.amzDate.slice(0, 8);
  const scope = `${day}/${request.region}/${request.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', request.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = [day, request.region, request.service, 'aws4_request'].reduce<Buffer | string>(
    (key, part) => hmac(key, part),
    `AWS4${request.secretAccessKey}`,
  );
  const signature = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  return {
    authorization: `AWS4-HMAC-SHA256 Credential=${request.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    headers: sent,
  };
}

// Other services normalize the path — `//` is `/`, `.` and `..` segments are resolved (the URL
// parser leaves some, as in `/a/.a/..`) — and expect each already-encoded segment to be encoded
// once more.
function servicePath(pathname: string): string {
  const segments: string[] = [];
  for (const segment of pathname.replace(/\/{2,}/g, '/').split('/')) {
    if (segment === '..') segments.pop();
    else if (segment !== '.') segments.push(encodeRfc3986(segment));
  }
  const path = segments.join('/');
  return path.startsWith('/') ? path : `/${path}`;
}

// S3 reads the path as its object key: decoded (a `+` is a space), then encoded once, `/` kept.
function s3Path(pathname: string): string {
  let out = '';
  for (const byte of percentDecoded(pathname.replace(/\+/g, ' '))) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~/]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out || '/';
}

/** The bytes a percent-encoded text stands for; a `%` not followed by two hex digits is itself. */
function percentDecoded(text: string): Buffer {
  const bytes: number[] = [];
  const raw = Buffer.from(text, 'utf8');
  for (let i = 0; i < raw.length; i += 1) {
    const hex = raw[i] === 0x25 ? raw.subarray(i + 1, i + 3).toString('latin1') : '';
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else bytes.push(raw[i] as number);
  }
  return Buffer.from(bytes);
}

function firstValues(params: URLSearchParams): URLSearchParams {
  const first = new URLSearchParams();
  for (const [name, value] of params) if (!first.has(name)) first.append(name, value);
  return first;
}

const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

import { createHash, createHmac } from 'node:crypto';
import { canonicalQuery, encodeRfc3986 } from './canonical-query.js';

/** One request to sign with AWS Signature Version 4, header-based (the `Authorization` header). */
export interface SigV4Request {
  method: string;
  url: URL;
  /** Signed when the request sends one. */
  contentType?: string;
  body: string;
  /** `YYYYMMDDTHHmmssZ`; the same value must go out as `x-amz-date`. */
  amzDate: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  service: string;
}

/**
 * The `Authorization` value of AWS SigV4 (docs.aws.amazon.com, "Create a signed AWS API request"):
 * canonical request → string to sign → HMAC chain of date, region, service. Signs `host`,
 * `x-amz-date` and `content-type` when present. Written out rather than taken from `aws4`,
 * because that package signs every header it is given and adds its own, while Nango's templates
 * send exactly these.
 */
export function signAwsV4(request: SigV4Request): string {
  const headers: Array<[string, string]> = [];
  if (request.contentType) headers.push(['content-type', request.contentType.trim()]);
  headers.push(['host', request.url.host], ['x-amz-date', request.amzDate]);
  const signedHeaders = headers.map(([name]) => name).join(';');
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalPath(request.url.pathname),
    canonicalQuery(request.url.searchParams),
    headers.map(([name, value]) => `${name}:${value}\n`).join(''),
    signedHeaders,
    sha256Hex(request.body),
  ].join('\n');
  const day = request.amzDate.slice(0, 8);
  const scope = `${day}/${request.region}/${request.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', request.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = [day, request.region, request.service, 'aws4_request'].reduce<Buffer | string>(
    (key, part) => hmac(key, part),
    `AWS4${request.secretAccessKey}`,
  );
  const signature = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${request.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

// Services other than S3 expect each already-encoded path segment to be encoded once more.
function canonicalPath(pathname: string): string {
  return pathname.split('/').map(encodeRfc3986).join('/') || '/';
}

const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

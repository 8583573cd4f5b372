import { createHash, createHmac, createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { InvalidCredentialsError, InvalidTemplateError } from '../model/errors.js';
import { signAwsV4 } from '../signing/aws-sigv4.js';
import { formatUtc } from './date-format.js';

/** The request a proxy template is being filled for; `${method}`, `${host}`, … in templates. */
export interface TemplateRequest {
  method: string;
  url: URL;
  /** The path the caller passed to `manager.fetch` (query included), with one leading slash. */
  endpoint: string;
  /** The body as sent ('' without one). */
  body: string;
  /** The body's bytes when it is binary: a payload hash must cover them, not their UTF-8 reading. */
  bodyBytes?: Uint8Array;
  contentType: string;
  /** The request is a form post, so Duo-style canonical parameters come from the body. */
  formBody: boolean;
  /**
   * Filled by functions whose value is only valid with other headers sent beside it (awsSigV4's
   * `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token`); whoever sends the request sends them.
   */
  addedHeaders: Record<string, string>;
}

/** The instant and random id one request's templates share, so a signature and its headers agree. */
export interface TemplateMoment {
  now: number;
  random: string;
}

type TemplateFunction = (args: string[], moment: TemplateMoment, request: TemplateRequest | undefined) => string;

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8');

/**
 * The functions Nango's provider files call inside `${…}`, by name, with their argument counts.
 * Arguments arrive filled in; each returns text.
 */
export const TEMPLATE_FUNCTIONS: Record<string, { arity: [number, number]; call: TemplateFunction }> = {
  base64: { arity: [1, 1], call: ([text]) => Buffer.from(text as string, 'utf8').toString('base64') },
  sha256Hex: { arity: [1, 1], call: ([text]) => sha256(text as string).digest('hex') },
  sha256Base64: { arity: [1, 1], call: ([text]) => sha256(text as string).digest('base64') },
  // Duo's Admin API: HMAC-SHA1 of the canonical request, keyed by the secret key.
  hmacSha1Hex: {
    arity: [2, 2],
    call: ([message, key]) =>
      createHmac('sha1', key as string)
        .update(message as string, 'utf8')
        .digest('hex'),
  },
  // HTTP message signatures (RFC 9421) with an Ed25519 key: Streamline AI.
  ed25519Sign: {
    arity: [2, 2],
    call: ([message, key]) =>
      sign(null, Buffer.from(message as string, 'utf8'), cachedEd25519Key(key as string)).toString('base64'),
  },
  // `awsSigV4(accessKeyId, secretAccessKey, region, service[, host[, sessionToken]])`: the
  // Authorization header; the x-amz-* headers it signed go into `request.addedHeaders`. The
  // request's own host is signed, as AWS checks what arrives; the host argument is informative.
  // An empty session token is none.
  awsSigV4: {
    arity: [4, 6],
    call: ([accessKeyId, secretAccessKey, region, service, , sessionToken], moment, request) => {
      if (!request) throw new InvalidTemplateError('awsSigV4() signs API requests: use it in proxy.headers only');
      const signed = signAwsV4({
        method: request.method,
        url: request.url,
        contentType: request.contentType,
        body: request.bodyBytes ?? request.body,
        amzDate: formatUtc(moment.now, 'YYYYMMDDTHHmmss[Z]'),
        accessKeyId: accessKeyId as string,
        secretAccessKey: secretAccessKey as string,
        ...(sessionToken ? { sessionToken } : {}),
        region: region as string,
        service: service as string,
      });
      Object.assign(request.addedHeaders, signed.headers);
      return signed.authorization;
    },
  },
};

// Parsing a PEM costs about ten times the signature itself, and a connection signs every request
// with the same key. Keyed by a digest, so the map holds no key text; bounded.
const parsedKeys = new Map<string, KeyObject>();
const MAX_PARSED_KEYS = 256;

function cachedEd25519Key(text: string): KeyObject {
  const id = sha256(text).digest('base64');
  let key = parsedKeys.get(id);
  if (!key) {
    key = ed25519Key(text);
    if (parsedKeys.size >= MAX_PARSED_KEYS) parsedKeys.delete(parsedKeys.keys().next().value as string);
    parsedKeys.set(id, key);
  }
  return key;
}

// PKCS#8 DER prefix of an Ed25519 private key (RFC 8410): the 32-byte seed follows.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * An Ed25519 private key from the forms keys are handed out in: PEM (PKCS#8), or the 32-byte
 * seed, the 64-byte seed‖public key (libsodium, tweetnacl) or PKCS#8 DER, in base64, base64url or hex.
 */
function ed25519Key(text: string): KeyObject {
  const refuse = () => new InvalidCredentialsError('ed25519Sign needs an Ed25519 private key', 'credentials');
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith('-----BEGIN')) return checked(createPrivateKey(trimmed.replace(/\\n/g, '\n')));
    const bytes =
      /^[0-9a-f]+$/i.test(trimmed) && trimmed.length % 2 === 0
        ? Buffer.from(trimmed, 'hex')
        : Buffer.from(trimmed, 'base64');
    if (bytes.length === 32 || bytes.length === 64) {
      const der = Buffer.concat([ED25519_PKCS8_PREFIX, bytes.subarray(0, 32)]);
      return checked(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
    }
    return checked(createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' }));
  } catch {
    throw refuse();
  }
  function checked(key: KeyObject): KeyObject {
    if (key.asymmetricKeyType !== 'ed25519') throw refuse();
    return key;
  }
}

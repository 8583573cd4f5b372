import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The header carrying the signature: Nango's name, so `@nangohq/node`'s
 * `verifyIncomingWebhookRequest` checks it as it is. Nango also sends a legacy `X-Nango-Signature`
 * (plain SHA-256 of secret + body, open to length extension); Latchkey does not.
 */
export const SIGNATURE_HEADER = 'X-Nango-Hmac-Sha256';
/**
 * The signature that also covers when it was sent and which webhook it is, in Stripe's scheme:
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<id>.<body>">`. Nango's signature covers the body
 * only, and two creations of one connection have byte-identical bodies, so a captured webhook can
 * be replayed for ever; this one expires with the verifier's tolerance.
 */
export const TIMESTAMPED_SIGNATURE_HEADER = 'X-Latchkey-Signature';
/** The same id on every attempt of one webhook: what a receiver dedupes on. */
export const WEBHOOK_ID_HEADER = 'X-Latchkey-Webhook-Id';
/** 1 on the first attempt, then 2, 3…: a retry is visible as such. */
export const ATTEMPT_HEADER = 'X-Latchkey-Webhook-Attempt';

/** Default tolerance of {@link verifyWebhook}: 5 minutes, as Stripe's. */
const DEFAULT_TOLERANCE_SECONDS = 300;

/** The signature of a webhook body: HMAC-SHA256 of the exact bytes sent, keyed by the secret, in hex. */
export function signWebhookBody(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('hex');
}

/** The value of {@link TIMESTAMPED_SIGNATURE_HEADER} for one attempt sent at `now` (epoch ms). */
export function signWebhook(secret: string, id: string, body: string, now: number): string {
  const t = Math.floor(now / 1000);
  return `t=${t},v1=${timestampedHmac(secret, t, id, body)}`;
}

function timestampedHmac(secret: string, t: number, id: string, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${id}.${body}`, 'utf8').digest('hex');
}

/**
 * Whether `signature` (the header's value) is the HMAC-SHA256 of the raw `body` under `secret`,
 * compared in constant time: Nango's `X-Nango-Hmac-Sha256`, which does not expire. Prefer
 * {@link verifyWebhook}, which also refuses replays.
 *
 * @example
 * ```ts
 * const raw = await request.text(); // the raw body, before any JSON parsing
 * if (!verifyWebhookSignature(secret, raw, request.headers.get('x-nango-hmac-sha256'))) {
 *   return new Response('bad signature', { status: 401 });
 * }
 * ```
 */
export function verifyWebhookSignature(secret: string, body: string, signature: string | null | undefined): boolean {
  if (typeof signature !== 'string' || !/^[0-9a-f]{64}$/i.test(signature)) return false;
  return sameHex(signWebhookBody(secret, body), signature);
}

/** A request's headers: a fetch `Headers`, or Node's `IncomingHttpHeaders` (names in lower case). */
export type WebhookHeaders = Headers | Readonly<Record<string, string | string[] | undefined>>;

/** Options of {@link verifyWebhook}. */
export interface VerifyWebhookOptions {
  /** How far the signed time may be from now, either way, in seconds. Default 300. */
  toleranceSeconds?: number;
  /** The receiver's time, in epoch ms. Default `Date.now()`. */
  now?: number;
}

/** What {@link verifyWebhook} found: the webhook's id and signed time, or why it is refused. */
export type WebhookVerification =
  | { valid: true; id: string; timestamp: number }
  | {
      valid: false;
      reason: 'missing_signature' | 'malformed_signature' | 'missing_id' | 'bad_signature' | 'outside_tolerance';
    };

/**
 * Verifies a webhook as Latchkey signs it: `X-Latchkey-Signature` (`t=…,v1=…`) must be the
 * HMAC-SHA256, under `secret`, of `<t>.<X-Latchkey-Webhook-Id>.<raw body>`, compared in constant
 * time, and `t` within `toleranceSeconds` (default 5 minutes) of now. A valid answer carries the
 * webhook's id, the same on every retry of one webhook: remember the ids you have handled and
 * skip a repeat, since delivery is at least once.
 *
 * @example
 * ```ts
 * const raw = await request.text(); // the raw body, before any JSON parsing
 * const verified = verifyWebhook(secret, raw, request.headers);
 * if (!verified.valid) return new Response(verified.reason, { status: 401 });
 * if (await alreadyHandled(verified.id)) return new Response(null, { status: 204 });
 * ```
 */
export function verifyWebhook(
  secret: string,
  body: string,
  headers: WebhookHeaders,
  options: VerifyWebhookOptions = {},
): WebhookVerification {
  const header = headerValue(headers, TIMESTAMPED_SIGNATURE_HEADER);
  if (header === undefined) return { valid: false, reason: 'missing_signature' };
  const id = headerValue(headers, WEBHOOK_ID_HEADER);
  if (id === undefined || id === '') return { valid: false, reason: 'missing_id' };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [name, value = ''] = part.trim().split('=', 2) as [string, string?];
    if (name === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    // Several v1 values may come (a sender between two secrets); one must match.
    else if (name === 'v1' && /^[0-9a-f]{64}$/i.test(value)) signatures.push(value);
  }
  if (timestamp === undefined || signatures.length === 0) return { valid: false, reason: 'malformed_signature' };
  const expected = timestampedHmac(secret, timestamp, id, body);
  // Every candidate is compared, so the time taken says nothing about which one matched.
  const matched = signatures.map((signature) => sameHex(expected, signature)).includes(true);
  if (!matched) return { valid: false, reason: 'bad_signature' };
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = (options.now ?? Date.now()) / 1000;
  if (!(Math.abs(now - timestamp) <= tolerance)) return { valid: false, reason: 'outside_tolerance' };
  return { valid: true, id, timestamp };
}

function headerValue(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const lower = name.toLowerCase();
  const record = headers as Readonly<Record<string, string | string[] | undefined>>;
  for (const [key, value] of Object.entries(record)) {
    if (key.toLowerCase() !== lower) continue;
    return Array.isArray(value) ? value.join(',') : value;
  }
  return undefined;
}

/** Constant-time equality of two hex digests of the same length (64 characters, checked by the callers). */
function sameHex(expected: string, presented: string): boolean {
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(presented.toLowerCase(), 'hex'));
}

import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The header carrying the signature: Nango's name, so `@nangohq/node`'s
 * `verifyIncomingWebhookRequest` checks it as it is. Nango also sends a legacy `X-Nango-Signature`
 * (plain SHA-256 of secret + body, open to length extension); Latchkey does not.
 */
export const SIGNATURE_HEADER = 'X-Nango-Hmac-Sha256';
/** The same id on every attempt of one webhook: what a receiver dedupes on. */
export const WEBHOOK_ID_HEADER = 'X-Latchkey-Webhook-Id';
/** 1 on the first attempt, then 2, 3…: a retry is visible as such. */
export const ATTEMPT_HEADER = 'X-Latchkey-Webhook-Attempt';

/** The signature of a webhook body: HMAC-SHA256 of the exact bytes sent, keyed by the secret, in hex. */
export function signWebhookBody(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('hex');
}

/**
 * Whether `signature` (the header's value) is the HMAC-SHA256 of the raw `body` under `secret`,
 * compared in constant time. For receivers written in TypeScript.
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
  const expected = Buffer.from(signWebhookBody(secret, body), 'hex');
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}

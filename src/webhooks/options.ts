import { InvalidRequestError } from '../model/errors.js';
import { defaultWebhookRetryPolicy, type WebhookRetryPolicy } from './outbox.js';
import type { PayloadContext } from './payload.js';

/** Options of `manager.startWebhooks`. */
export interface WebhookOptions {
  /**
   * Where to POST: your app's webhook route (`http:` or `https:`). A URL with a user or password
   * in it (`https://user:pass@…`) is refused: the signatures authenticate the sender, and a
   * password in a URL ends up in logs and config dumps.
   */
  url: string;
  /**
   * The key of the HMAC-SHA256 signatures (`X-Nango-Hmac-Sha256` and `X-Latchkey-Signature`).
   * Never sent, never stored.
   */
  secret: string;
  /** The `environment` field of every body (Nango's environment name). Default `prod`. */
  environment?: string;
  /** The `from` field of every body. Default `latchkey` (Nango sends `nango`). */
  from?: string;
  /**
   * Names this sender's outbox in the store (default `default`). Processes that share a store and
   * a name share the outbox, and deliver each entry once between them; give a second sender (a
   * second URL) its own name.
   */
  name?: string;
  /** Longest wait for the receiver's answer, in ms. Default 10 000. */
  timeoutMs?: number;
  /** How retries are spaced and when a webhook is given up. */
  retry?: Partial<WebhookRetryPolicy>;
  /**
   * How often the outbox is read for entries nobody is working on (left by a process that
   * stopped, or written while the store was down), in ms. Default 30 000.
   */
  pollIntervalMs?: number;
}

/** The checked options, with defaults applied. */
export interface WebhookSettings {
  url: string;
  secret: string;
  name: string;
  timeoutMs: number;
  leaseMs: number;
  pollIntervalMs: number;
  retry: WebhookRetryPolicy;
  payload: Pick<PayloadContext, 'from' | 'environment'>;
}

/** Checks `startWebhooks`' options at once, naming the field that is wrong (never quoting the secret). */
export function checkWebhookOptions(options: WebhookOptions): WebhookSettings {
  if (options === null || typeof options !== 'object') throw new InvalidRequestError('expected options', 'options');
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new InvalidRequestError('url must be an absolute http: or https: URL', 'url');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidRequestError('url must be an absolute http: or https: URL', 'url');
  }
  // fetch refuses such a URL on every attempt; refusing it here says why, once, without the password.
  if (url.username !== '' || url.password !== '') {
    throw new InvalidRequestError(
      'url must not carry a user or password (user:password@); receivers authenticate webhooks by their signature',
      'url',
    );
  }
  if (typeof options.secret !== 'string' || options.secret.length < 16) {
    throw new InvalidRequestError('secret must be a string of at least 16 characters', 'secret');
  }
  const name = options.name ?? 'default';
  if (typeof name !== 'string' || name === '' || name.length > 100)
    throw new InvalidRequestError('name must be a string of 1 to 100 characters', 'name');
  const positive = (value: number | undefined, fallback: number, field: string) => {
    const result = value ?? fallback;
    if (typeof result !== 'number' || !Number.isFinite(result) || result <= 0) {
      throw new InvalidRequestError(`${field} must be a positive number`, field);
    }
    return result;
  };
  const timeoutMs = positive(options.timeoutMs, 10_000, 'timeoutMs');
  const retry = { ...defaultWebhookRetryPolicy, ...options.retry };
  positive(retry.maxAttempts, 1, 'retry.maxAttempts');
  positive(retry.initialDelayMs, 1, 'retry.initialDelayMs');
  positive(retry.maxDelayMs, 1, 'retry.maxDelayMs');
  const text = (value: string | undefined, fallback: string, field: string) => {
    const result = value ?? fallback;
    if (typeof result !== 'string' || result === '') throw new InvalidRequestError(`${field} must be a string`, field);
    return result;
  };
  return {
    url: url.href,
    secret: options.secret,
    name,
    timeoutMs,
    // Longer than any one attempt can take, so a lease never lapses while its holder is still sending.
    leaseMs: timeoutMs * 2 + 5_000,
    pollIntervalMs: positive(options.pollIntervalMs, 30_000, 'pollIntervalMs'),
    retry,
    payload: {
      from: text(options.from, 'latchkey', 'from'),
      environment: text(options.environment, 'prod', 'environment'),
    },
  };
}

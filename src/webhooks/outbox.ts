import { randomUUID } from 'node:crypto';

/** Every outbox entry's key starts with this; the sender's name and the creation time follow. */
export const WEBHOOK_PREFIX = 'webhook:';

/** One webhook waiting for delivery, as stored. The body is kept as the exact text that is signed and sent. */
export interface OutboxEntry {
  /** Constant across attempts and restarts: sent as `X-Latchkey-Webhook-Id`. */
  id: string;
  body: string;
  /** Epoch ms, by the manager's clock. */
  createdAt: number;
  /** Failed attempts so far. */
  attempts: number;
  /**
   * Epoch ms (the manager's clock) before which no process attempts it again, a restarted one
   * included: the back-off schedule lives in the store, not in a process.
   */
  nextAttemptAt: number;
  /** Why the last attempt failed (`status 500`, `timeout`…): never a response body. */
  lastError?: string;
  /**
   * Where it goes when not to the sender's URL: the connection's `webhook_url_override`, as it was
   * when the webhook was written (a later change does not re-route webhooks already queued).
   */
  url?: string;
  /**
   * A creation or override webhook written before its change (see operations/change-notices.ts):
   * not sent until released, with `body` empty until then. `connection` is the record's key.
   */
  held?: { connection: string; operation: 'creation' | 'override' };
}

/** The key prefix of one sender's outbox. */
export function outboxPrefix(name: string): string {
  return `${WEBHOOK_PREFIX}${encodeURIComponent(name)}:`;
}

/** A new entry and its key; keys sort by creation time, so older webhooks are attempted first. */
export function newEntry(name: string, body: string, now: number, url?: string): { key: string; entry: OutboxEntry } {
  const id = randomUUID();
  const key = outboxKey(name, now, id);
  const entry: OutboxEntry = { id, body, createdAt: now, attempts: 0, nextAttemptAt: now };
  if (url !== undefined) entry.url = url;
  return { key, entry };
}

/** The key of the entry `id` written at `createdAt` to the outbox `name`. */
export function outboxKey(name: string, createdAt: number, id: string): string {
  // 15 digits keep the keys in time order (string order) until the year 33658.
  return `${outboxPrefix(name)}${String(createdAt).padStart(15, '0')}:${id}`;
}

/** The lease a process holds on one entry while it delivers it. */
export function deliveryLockName(entry: OutboxEntry): string {
  return `webhook:${entry.id}`;
}

/** How retries are spaced. */
export interface WebhookRetryPolicy {
  /** Attempts in all, the first included, before the webhook is dropped (and logged). Default 12. */
  maxAttempts: number;
  /** Delay after the first failure, in ms. Default 1 000. */
  initialDelayMs: number;
  /** Longest delay between two attempts, in ms. Default 1 hour. */
  maxDelayMs: number;
}

export const defaultWebhookRetryPolicy: WebhookRetryPolicy = {
  maxAttempts: 12,
  initialDelayMs: 1000,
  maxDelayMs: 3_600_000,
};

/**
 * Exponential back-off with jitter after `attempts` failures: doubling from `initialDelayMs`,
 * capped at `maxDelayMs`, then a random 50–100 % of it, so receivers that come back are not hit by
 * every process's retries in the same instant.
 */
export function retryDelayMs(attempts: number, policy: WebhookRetryPolicy, random: () => number = Math.random): number {
  const exponential = policy.initialDelayMs * 2 ** Math.max(0, attempts - 1);
  const capped = Math.min(policy.maxDelayMs, exponential);
  return Math.round(capped * (0.5 + random() * 0.5));
}

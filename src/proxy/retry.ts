/**
 * When a proxied request is sent again, and after how long. A pure decision: the caller sleeps.
 *
 * | answer                                   | GET, HEAD, OPTIONS, PUT, DELETE | POST, PATCH |
 * | ---------------------------------------- | ------------------------------- | ----------- |
 * | 429                                      | retried                         | retried     |
 * | 5xx                                      | retried                         | only if listed in `retryOn` |
 * | a status listed in `retryOn`             | retried                         | retried     |
 * | no answer (connection refused or reset)  | retried                         | not retried |
 *
 * A 429 means the provider refused the request before doing anything, so sending a POST again
 * cannot do it twice; a 5xx or a dropped connection may come after the work was done, so a POST
 * is sent again only when the caller names that status in `Retry-On`. The wait is what the
 * provider asks for — `Retry-After` (seconds or an HTTP date), then the headers its definition
 * declares (`proxy.retry.at`: the reset instant; `proxy.retry.after`: seconds) — or else an
 * exponential back-off with full jitter. A wait longer than {@link MAX_RETRY_WAIT_MS} is not
 * waited: the answer goes back to the caller, `Retry-After` and all.
 */
import type { ProxyDefinition } from '../providers/definition.js';

/** What the caller asked for: how many more attempts, and which extra statuses to retry. */
export interface RetryPolicy {
  retries: number;
  retryOn: readonly number[];
}

export const NO_RETRIES: RetryPolicy = { retries: 0, retryOn: [] };

/** The longest wait a retry honours; beyond it the provider's answer is returned as is. */
export const MAX_RETRY_WAIT_MS = 60_000;
const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 10_000;
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/**
 * The wait in ms before attempt `attempt + 1` (`attempt` counts from 0), or `undefined` when the
 * answer stands. `status` is `undefined` when no answer came.
 */
export function retryWait(
  input: { method: string; status: number | undefined; headers?: Pick<Headers, 'get'> | undefined; attempt: number; now: number },
  policy: RetryPolicy,
  declared: ProxyDefinition['retry'],
  random: () => number = Math.random,
): number | undefined {
  if (input.attempt >= policy.retries) return undefined;
  const idempotent = IDEMPOTENT.has(input.method.toUpperCase());
  const { status } = input;
  const listed = status !== undefined && policy.retryOn.includes(status);
  const retryable =
    status === undefined ? idempotent : status === 429 || listed || (status >= 500 && status <= 599 && idempotent);
  if (!retryable) return undefined;
  const asked = input.headers ? askedWait(input.headers, declared, input.now) : undefined;
  if (asked !== undefined) return asked <= MAX_RETRY_WAIT_MS ? asked : undefined;
  return Math.floor(random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** input.attempt));
}

/** The wait the provider's answer asks for, in ms, if it asks. */
function askedWait(headers: Pick<Headers, 'get'>, declared: ProxyDefinition['retry'], now: number): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null) {
    const wait = secondsOrDate(retryAfter, now);
    if (wait !== undefined) return wait;
  }
  for (const name of declared?.after ?? []) {
    const value = headers.get(name);
    const seconds = value === null ? NaN : Number(value);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  }
  for (const name of declared?.at ?? []) {
    const value = headers.get(name);
    if (value === null) continue;
    const seconds = Number(value);
    // An epoch in seconds (GitHub's x-ratelimit-reset), else an HTTP or ISO date.
    const at = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value);
    if (Number.isFinite(at)) return Math.max(0, Math.ceil(at - now));
  }
  return undefined;
}

/** RFC 9110 §10.2.3: `Retry-After` is delay-seconds or an HTTP date. */
function secondsOrDate(value: string, now: number): number | undefined {
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

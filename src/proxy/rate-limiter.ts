/**
 * A token bucket kept in the store, so every process on the store draws from the same bucket:
 * ten app instances behind one customer's connection send what one would, not ten times it.
 * Each take is a compare-and-swap (`insert` of a new bucket, `replace` of the text read), never
 * a process-local counter; a lost race reads again.
 */
import { RateLimitedError } from '../model/errors.js';
import { isPlainObject } from '../model/json.js';
import type { StorageAdapter } from '../store/adapter.js';

/** One integration's limit. */
export interface RateLimit {
  /** Steady rate: tokens added per second. */
  requestsPerSecond: number;
  /** Bucket size: how many requests may go at once after a quiet spell. Default 1. */
  burst?: number | undefined;
  /** One bucket per connection (default) or one for the whole integration. */
  scope?: 'connection' | 'integration' | undefined;
}

/** Limits by provider config key. */
export type RateLimits = Record<string, RateLimit>;

interface Bucket {
  tokens: number;
  at: number;
}

/** How long a caller waits for a token before the request is refused with a `RateLimitedError`. */
export const MAX_LIMITER_WAIT_MS = 30_000;
const MAX_CONTENDED_TRIES = 1_000;

/**
 * Waits until the bucket of this connection (or integration) has a token, and takes it. Uses the
 * wall clock (`Date.now`), which processes sharing a store share; a manager's own clock may be a
 * test's frozen one. `signal` aborts the wait.
 */
export async function takeToken(
  store: StorageAdapter,
  providerConfigKey: string,
  connectionId: string,
  limit: RateLimit,
  signal?: AbortSignal | null,
): Promise<void> {
  const burst = limit.burst ?? 1;
  const perMs = limit.requestsPerSecond / 1000;
  const key =
    limit.scope === 'integration'
      ? `ratelimit:${encodeURIComponent(providerConfigKey)}`
      : `ratelimit:${encodeURIComponent(providerConfigKey)}:${encodeURIComponent(connectionId)}`;
  // A full bucket is the same as none: let the entry lapse once it would have refilled.
  const lifetimeMs = Math.ceil(burst / perMs) + 60_000;
  const started = Date.now();
  for (let tries = 0; tries < MAX_CONTENDED_TRIES; tries++) {
    signal?.throwIfAborted();
    const now = Date.now();
    const text = await store.get(key);
    const stored = text === undefined ? undefined : parseBucket(text);
    const tokens = stored ? Math.min(burst, stored.tokens + Math.max(0, now - stored.at) * perMs) : burst;
    if (tokens >= 1) {
      const next = JSON.stringify({ tokens: tokens - 1, at: now } satisfies Bucket);
      const options = { expiresAt: now + lifetimeMs };
      const taken =
        text === undefined ? await store.insert(key, next, options) : await store.replace(key, text, next, options);
      if (taken) return;
      continue;
    }
    const wait = Math.ceil((1 - tokens) / perMs);
    if (now + wait - started > MAX_LIMITER_WAIT_MS) throw new RateLimitedError(providerConfigKey, wait);
    await sleep(wait, signal);
  }
  throw new RateLimitedError(providerConfigKey, Math.ceil(1 / perMs));
}

function parseBucket(text: string): Bucket | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (isPlainObject(value) && typeof value.tokens === 'number' && typeof value.at === 'number')
      return { tokens: value.tokens, at: value.at };
  } catch {
    // A malformed bucket reads as a full one, and the next take overwrites it.
  }
  return undefined;
}

/** A wait the caller's `AbortSignal` cuts short. */
export function sleep(ms: number, signal?: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

import type { ProviderFailureKind } from '../model/errors.js';
import type { RefreshFailureState } from '../model/record.js';

/**
 * How failed refreshes back off and when they exhaust a connection (the manager's `failurePolicy`
 * option).
 */
export interface FailurePolicy {
  /** Wait after the first failure; doubles with each further failure. Default 30 s (Nango's cooldown). */
  backoffBaseMs: number;
  /** Longest wait between automatic attempts. Default 1 hour. */
  backoffMaxMs: number;
  /** Transient failures persisting this long exhaust the connection. Default 3 days. */
  exhaustAfterMs: number;
}

export const defaultFailurePolicy: FailurePolicy = {
  backoffBaseMs: 30_000,
  backoffMaxMs: 60 * 60_000,
  exhaustAfterMs: 3 * 24 * 60 * 60_000,
};

export interface RefreshFailure {
  error: string;
  kind: ProviderFailureKind;
  status?: number | undefined;
  retryAfterSeconds?: number | undefined;
  logId: string;
  /** The app's client was refused (a configuration mistake): back off, never exhaust. */
  integration?: boolean;
}

/**
 * The state after one more failure: a doubling back-off with a cap (so one dead connection cannot
 * hammer its provider), a provider's Retry-After honoured when longer, and exhaustion on a
 * permanent refusal or on transient failures that persisted past `exhaustAfterMs`.
 */
export function afterFailure(
  state: RefreshFailureState,
  failure: RefreshFailure,
  now: number,
  policy: FailurePolicy,
): RefreshFailureState {
  const failures = state.failures + 1;
  const firstFailureAt = state.first_failure_at ?? new Date(now).toISOString();
  const backoff = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** Math.min(failures - 1, 30));
  const wait = Math.max(backoff, (failure.retryAfterSeconds ?? 0) * 1000);
  const persisted = now - Date.parse(firstFailureAt) >= policy.exhaustAfterMs;
  return {
    failures,
    exhausted: failure.integration !== true && (failure.kind === 'permanent' || persisted),
    first_failure_at: firstFailureAt,
    retry_at: new Date(now + wait).toISOString(),
    last_error: {
      error: failure.error,
      kind: failure.kind,
      ...(failure.status === undefined ? {} : { status: failure.status }),
      log_id: failure.logId,
    },
  };
}

/** The instant automatic refreshes may resume, if the connection is backing off at `now`. */
export function backingOffUntil(state: RefreshFailureState, now: number): number | undefined {
  if (state.retry_at === undefined) return undefined;
  const until = Date.parse(state.retry_at);
  return until > now ? until : undefined;
}

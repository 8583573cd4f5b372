import { describe, expect, it } from 'vitest';
import type { RefreshFailureState } from '../../src/model/record.js';
import {
  afterFailure,
  backingOffUntil,
  defaultFailurePolicy,
  type FailurePolicy,
  type RefreshFailure,
} from '../../src/refresh/failure-policy.js';

const NOW = Date.parse('2026-11-23T12:00:00.000Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const healthy: RefreshFailureState = { failures: 0, exhausted: false };
const policy: FailurePolicy = { backoffBaseMs: 30 * SECOND, backoffMaxMs: HOUR, exhaustAfterMs: 3 * 24 * HOUR };
const transient: RefreshFailure = { error: 'temporarily_unavailable', kind: 'transient', status: 503, logId: 'log-1' };
const iso = (ms: number) => new Date(ms).toISOString();

/** The state after `count` transient failures one after another, each `every` ms after the last. */
function failRepeatedly(count: number, every: number, failure = transient): RefreshFailureState[] {
  const states: RefreshFailureState[] = [];
  let state = healthy;
  for (let i = 0; i < count; i++) {
    state = afterFailure(state, failure, NOW + i * every, policy);
    states.push(state);
  }
  return states;
}

describe('afterFailure', () => {
  it('records the first failure: one failure, its time, the base wait, and the error without secrets', () => {
    expect(afterFailure(healthy, transient, NOW, policy)).toEqual({
      failures: 1,
      exhausted: false,
      first_failure_at: iso(NOW),
      retry_at: iso(NOW + 30 * SECOND),
      last_error: { error: 'temporarily_unavailable', kind: 'transient', status: 503, log_id: 'log-1' },
    });
  });

  it('doubles the wait with each further failure, up to the cap', () => {
    const waits = failRepeatedly(10, MINUTE).map(
      (state, i) => Date.parse(state.retry_at as string) - (NOW + i * MINUTE),
    );
    expect(waits).toEqual([
      30 * SECOND,
      MINUTE,
      2 * MINUTE,
      4 * MINUTE,
      8 * MINUTE,
      16 * MINUTE,
      32 * MINUTE,
      HOUR,
      HOUR,
      HOUR,
    ]);
  });

  it('stays at the cap however many failures there were (no overflow)', () => {
    const state = afterFailure({ ...healthy, failures: 5000, first_failure_at: iso(NOW) }, transient, NOW, policy);
    expect(state.failures).toBe(5001);
    expect(state.retry_at).toBe(iso(NOW + HOUR));
  });

  it('keeps the time of the first failure and replaces the last error', () => {
    const first = afterFailure(healthy, transient, NOW, policy);
    const second = afterFailure(
      first,
      { error: 'server_error', kind: 'transient', status: 500, logId: 'log-2' },
      NOW + 5 * MINUTE,
      policy,
    );
    expect(second.first_failure_at).toBe(iso(NOW));
    expect(second.last_error).toEqual({ error: 'server_error', kind: 'transient', status: 500, log_id: 'log-2' });
  });

  it('leaves out a status the failure did not have', () => {
    const state = afterFailure(healthy, { error: 'network_error', kind: 'transient', logId: 'log-3' }, NOW, policy);
    expect(state.last_error).toEqual({ error: 'network_error', kind: 'transient', log_id: 'log-3' });
    expect(state.last_error).not.toHaveProperty('status');
  });

  it('honours a Retry-After longer than its own back-off, and ignores a shorter one', () => {
    const longer = afterFailure(healthy, { ...transient, status: 429, retryAfterSeconds: 120 }, NOW, policy);
    expect(longer.retry_at).toBe(iso(NOW + 120 * SECOND));
    const shorter = afterFailure(healthy, { ...transient, status: 429, retryAfterSeconds: 5 }, NOW, policy);
    expect(shorter.retry_at).toBe(iso(NOW + 30 * SECOND));
    const beyondTheCap = afterFailure(healthy, { ...transient, retryAfterSeconds: 2 * 3600 }, NOW, policy);
    expect(beyondTheCap.retry_at).toBe(iso(NOW + 2 * HOUR));
  });

  it('exhausts at once on a permanent refusal', () => {
    const state = afterFailure(
      healthy,
      { error: 'invalid_grant', kind: 'permanent', status: 400, logId: 'log-4' },
      NOW,
      policy,
    );
    expect(state).toMatchObject({ failures: 1, exhausted: true, last_error: { kind: 'permanent' } });
  });

  it('exhausts when transient failures have persisted for exhaustAfterMs, not a moment before', () => {
    const first = afterFailure(healthy, transient, NOW, policy);
    const justBefore = afterFailure(first, transient, NOW + policy.exhaustAfterMs - 1, policy);
    expect(justBefore.exhausted).toBe(false);
    const atTheLimit = afterFailure(justBefore, transient, NOW + policy.exhaustAfterMs, policy);
    expect(atTheLimit.exhausted).toBe(true);
    expect(atTheLimit.first_failure_at).toBe(iso(NOW));
  });

  it('counts persistence from the first failure, not from the number of attempts', () => {
    // Ten quick failures are not three days of failures.
    expect(failRepeatedly(10, SECOND).some((state) => state.exhausted)).toBe(false);
    // Hourly failures for three days are, on the attempt at the 72nd hour.
    const hourly = failRepeatedly(73, HOUR);
    expect(hourly.findIndex((state) => state.exhausted)).toBe(72);
  });

  it('takes the numbers from the policy it is given', () => {
    const quick: FailurePolicy = { backoffBaseMs: 100, backoffMaxMs: 250, exhaustAfterMs: 1000 };
    let state = healthy;
    const waits: number[] = [];
    for (const at of [0, 10, 20, 30]) {
      state = afterFailure(state, transient, NOW + at, quick);
      waits.push(Date.parse(state.retry_at as string) - (NOW + at));
    }
    expect(waits).toEqual([100, 200, 250, 250]);
    expect(afterFailure(state, transient, NOW + 1000, quick).exhausted).toBe(true);
  });

  it('defaults to a 30 s base, a one-hour cap and three days to exhaustion', () => {
    expect(defaultFailurePolicy).toEqual({
      backoffBaseMs: 30 * SECOND,
      backoffMaxMs: HOUR,
      exhaustAfterMs: 3 * 24 * HOUR,
    });
  });
});

describe('backingOffUntil', () => {
  it('is undefined for a connection that has not failed', () => {
    expect(backingOffUntil(healthy, NOW)).toBeUndefined();
  });

  it('is the retry instant while it is still ahead', () => {
    const state = afterFailure(healthy, transient, NOW, policy);
    expect(backingOffUntil(state, NOW)).toBe(NOW + 30 * SECOND);
    expect(backingOffUntil(state, NOW + 30 * SECOND - 1)).toBe(NOW + 30 * SECOND);
  });

  it('is undefined once the retry instant is reached or past', () => {
    const state = afterFailure(healthy, transient, NOW, policy);
    expect(backingOffUntil(state, NOW + 30 * SECOND)).toBeUndefined();
    expect(backingOffUntil(state, NOW + HOUR)).toBeUndefined();
  });

  it('reads only retry_at: an exhausted state with a past retry_at is not backing off', () => {
    expect(backingOffUntil({ failures: 1, exhausted: true, retry_at: iso(NOW - 1) }, NOW)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import {
  AccessTokenExpiredError,
  RefreshBackoffError,
  RefreshExhaustedError,
  type Credentials,
} from '../../src/index.js';
import type { ConnectionRecord, RefreshFailureState } from '../../src/model/record.js';
import { decideFreshness, type Freshness, type FreshnessInput, freshnessError } from '../../src/refresh/freshness.js';

const NOW = Date.parse('2026-11-23T12:00:00.000Z');
const healthy: RefreshFailureState = { failures: 0, exhausted: false };
const backingOff: RefreshFailureState = {
  failures: 2,
  exhausted: false,
  first_failure_at: new Date(NOW - 60_000).toISOString(),
  retry_at: new Date(NOW + 30_000).toISOString(),
  last_error: { error: 'temporarily_unavailable', kind: 'transient', status: 503, log_id: 'log-backoff' },
};
const exhausted: RefreshFailureState = {
  failures: 1,
  exhausted: true,
  first_failure_at: new Date(NOW - 60_000).toISOString(),
  retry_at: new Date(NOW + 30_000).toISOString(),
  last_error: { error: 'invalid_grant', kind: 'permanent', status: 400, log_id: 'log-exhausted' },
};

/** A connection that is due, still usable, refreshable and healthy, unless the row says otherwise. */
function input(overrides: Partial<FreshnessInput>): FreshnessInput {
  return { force: false, due: true, usable: true, canRefresh: true, refresh: healthy, now: NOW, ...overrides };
}

// One row per line of the table in src/refresh/freshness.ts, in its order of precedence.
const rows: Array<[row: string, overrides: Partial<FreshnessInput>, decision: Freshness]> = [
  ['exhausted, not forced', { refresh: exhausted }, { action: 'fail', reason: 'exhausted' }],
  [
    'exhausted, not forced, even when not due and usable',
    { refresh: exhausted, due: false, usable: true },
    { action: 'fail', reason: 'exhausted' },
  ],
  ['not due, not forced', { due: false }, { action: 'use' }],
  ['not due, not forced, even when it cannot refresh', { due: false, canRefresh: false }, { action: 'use' }],
  ['not due, not forced, even while backing off', { due: false, refresh: backingOff }, { action: 'use' }],
  ['due, cannot refresh, usable', { canRefresh: false, usable: true }, { action: 'use' }],
  ['due, cannot refresh, not usable', { canRefresh: false, usable: false }, { action: 'fail', reason: 'expired' }],
  ['forced, cannot refresh, usable', { force: true, canRefresh: false, usable: true }, { action: 'use' }],
  [
    'forced, cannot refresh, not usable',
    { force: true, canRefresh: false, usable: false },
    { action: 'fail', reason: 'expired' },
  ],
  [
    'forced and exhausted, cannot refresh, not usable',
    { force: true, refresh: exhausted, canRefresh: false, usable: false },
    { action: 'fail', reason: 'expired' },
  ],
  ['backing off, not forced, usable', { refresh: backingOff, usable: true }, { action: 'use' }],
  [
    'backing off, not forced, not usable',
    { refresh: backingOff, usable: false },
    { action: 'fail', reason: 'backoff', until: NOW + 30_000 },
  ],
  ['due and refreshable', {}, { action: 'refresh' }],
  ['due, refreshable and already expired', { usable: false }, { action: 'refresh' }],
  ['forced while not due', { force: true, due: false }, { action: 'refresh' }],
  ['forced while exhausted (as in Nango)', { force: true, refresh: exhausted, usable: false }, { action: 'refresh' }],
  ['forced while backing off', { force: true, refresh: backingOff, usable: false }, { action: 'refresh' }],
  [
    'a back-off that has ended',
    { refresh: { ...backingOff, retry_at: new Date(NOW - 1).toISOString() }, usable: false },
    { action: 'refresh' },
  ],
  [
    'a back-off that ends exactly now',
    { refresh: { ...backingOff, retry_at: new Date(NOW).toISOString() }, usable: false },
    { action: 'refresh' },
  ],
  ['failures without a retry_at', { refresh: { failures: 3, exhausted: false }, usable: false }, { action: 'refresh' }],
];

describe('decideFreshness', () => {
  it.each(rows)('%s', (_row, overrides, decision) => {
    expect(decideFreshness(input(overrides))).toEqual(decision);
  });

  it('over every combination of its inputs: forced never fails on exhaustion or back-off, and each decision has its reason', () => {
    const flags = [false, true];
    let combinations = 0;
    for (const force of flags)
      for (const due of flags)
        for (const usable of flags)
          for (const canRefresh of flags)
            for (const refresh of [healthy, backingOff, exhausted]) {
              combinations++;
              const decision = decideFreshness({ force, due, usable, canRefresh, refresh, now: NOW });
              const state = JSON.stringify({ force, due, usable, canRefresh, refresh });
              if (force)
                expect(decision, state).not.toMatchObject({ reason: expect.stringMatching(/exhausted|backoff/) });
              if (decision.action === 'refresh') expect(canRefresh, state).toBe(true);
              if (decision.action === 'use') expect(usable || (!due && !force), state).toBe(true);
              if (decision.action === 'fail' && decision.reason === 'exhausted') expect(refresh, state).toBe(exhausted);
              if (decision.action === 'fail' && decision.reason === 'expired')
                expect({ usable, canRefresh }, state).toEqual({ usable: false, canRefresh: false });
              if (decision.action === 'fail' && decision.reason === 'backoff')
                expect({ usable, refresh }, state).toEqual({ usable: false, refresh: backingOff });
            }
    expect(combinations).toBe(48);
  });
});

describe('freshnessError', () => {
  const credentials: Credentials = { type: 'OAUTH2', access_token: 'a', refresh_token: 'r', raw: {} };
  function record(refresh: RefreshFailureState): ConnectionRecord {
    return {
      id: 1,
      connection_id: 'user-42',
      provider_config_key: 'crm',
      provider: 'crm',
      credentials,
      connection_config: {},
      metadata: {},
      tags: {},
      end_user: null,
      errors: [],
      created_at: new Date(NOW).toISOString(),
      updated_at: new Date(NOW).toISOString(),
      last_fetched_at: null,
      refresh,
    };
  }

  it('exhausted: RefreshExhaustedError with the provider error and log id of the last failure', () => {
    const error = freshnessError(record(exhausted), { action: 'fail', reason: 'exhausted' }, undefined);
    expect(error).toBeInstanceOf(RefreshExhaustedError);
    expect(error).toMatchObject({ code: 'refresh_exhausted', providerError: 'invalid_grant', logId: 'log-exhausted' });
    expect(error.message).toContain('user-42');
  });

  it('exhausted without a recorded failure: no provider error, no log id', () => {
    const error = freshnessError(
      record({ failures: 0, exhausted: true }),
      { action: 'fail', reason: 'exhausted' },
      undefined,
    );
    expect(error).toMatchObject({ code: 'refresh_exhausted', providerError: undefined, logId: undefined });
  });

  it('expired: AccessTokenExpiredError with the expiry as an ISO date, or "unknown"', () => {
    const expiresAt = NOW - 5 * 60_000;
    const dated = freshnessError(record(healthy), { action: 'fail', reason: 'expired' }, expiresAt);
    expect(dated).toBeInstanceOf(AccessTokenExpiredError);
    expect(dated).toMatchObject({ code: 'access_token_expired', expiredAt: new Date(expiresAt).toISOString() });
    const undated = freshnessError(record(healthy), { action: 'fail', reason: 'expired' }, undefined);
    expect(undated).toMatchObject({ code: 'access_token_expired', expiredAt: 'unknown' });
  });

  it('backoff: RefreshBackoffError with the instant of the decision and the last failure’s log id', () => {
    const until = NOW + 30_000;
    const error = freshnessError(record(backingOff), { action: 'fail', reason: 'backoff', until }, undefined);
    expect(error).toBeInstanceOf(RefreshBackoffError);
    expect(error).toMatchObject({
      code: 'refresh_backoff',
      retryAt: new Date(until).toISOString(),
      logId: 'log-backoff',
    });
  });
});

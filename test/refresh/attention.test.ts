import { describe, expect, it } from 'vitest';
import type { Credentials } from '../../src/index.js';
import { healthy, type ConnectionRecord } from '../../src/model/record.js';
import { attentionAt, type AttentionPolicy } from '../../src/refresh/attention.js';

const T = Date.parse('2026-11-28T00:00:00.000Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();

const policy: AttentionPolicy = {
  refreshAfterMs: DAY,
  healthCheckEveryMs: 12 * HOUR,
  marginFor: () => 15 * MIN,
  canVerify: (key) => key === 'verifiable',
};

function recordWith(credentials: Credentials, extra: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    id: 1,
    connection_id: 'c',
    provider_config_key: 'verifiable',
    provider: 'p',
    credentials,
    connection_config: {},
    metadata: {},
    tags: {},
    end_user: null,
    errors: [],
    created_at: iso(T),
    updated_at: iso(T),
    last_fetched_at: null,
    refresh: healthy,
    credentials_stored_at: iso(T),
    ...extra,
  };
}

const oauth2 = (expiresAt?: number, refreshToken: string | null = 'r'): Credentials => ({
  type: 'OAUTH2',
  access_token: 'a',
  ...(refreshToken === null ? {} : { refresh_token: refreshToken }),
  ...(expiresAt === undefined ? {} : { expires_at: iso(expiresAt) }),
  raw: {},
});
const apiKey: Credentials = { type: 'API_KEY', apiKey: 'k' };

describe('attentionAt: when a connection next needs the background refresher', () => {
  it('a refreshable grant: expiry minus the margin, when that comes before the keep-alive age', () => {
    expect(attentionAt(recordWith(oauth2(T + HOUR)), policy)).toBe(T + HOUR - 15 * MIN);
  });

  it('a refreshable grant far from expiry, or never expiring: the last refresh plus the keep-alive age', () => {
    expect(attentionAt(recordWith(oauth2(T + 30 * DAY)), policy)).toBe(T + DAY);
    expect(attentionAt(recordWith(oauth2(undefined)), policy)).toBe(T + DAY);
    // Refreshed by Latchkey after it was stored: counted from the refresh.
    expect(attentionAt(recordWith(oauth2(T + 30 * DAY), { credentials_issued_at: iso(T + 5 * HOUR) }), policy)).toBe(
      T + 29 * HOUR,
    );
    // A record written before credentials_stored_at existed: counted from its creation.
    expect(attentionAt(recordWith(oauth2(T + 30 * DAY), { credentials_stored_at: undefined }), policy)).toBe(T + DAY);
  });

  it('backing off: the end of the back-off; exhausted: never', () => {
    const failing = { ...healthy, failures: 2, retry_at: iso(T + 2 * MIN), first_failure_at: iso(T) };
    expect(attentionAt(recordWith(oauth2(T + HOUR), { refresh: failing }), policy)).toBe(T + 2 * MIN);
    expect(attentionAt(recordWith(oauth2(T + HOUR), { refresh: { ...failing, exhausted: true } }), policy)).toBe(null);
  });

  it('an OAuth token without a refresh token is checked like a key when its provider can verify it, else never', () => {
    expect(attentionAt(recordWith(oauth2(undefined, null)), policy)).toBe(T + 12 * HOUR);
    // One that expires lives until then whatever a check says: nothing to keep alive.
    expect(attentionAt(recordWith(oauth2(T + HOUR, null)), policy)).toBe(null);
    expect(attentionAt(recordWith(oauth2(undefined, null), { provider_config_key: 'unverifiable' }), policy)).toBe(
      null,
    );
  });

  it('credentials that do not expire: the last check (or storing) plus the interval; a transient retry first', () => {
    expect(attentionAt(recordWith(apiKey), policy)).toBe(T + 12 * HOUR);
    expect(attentionAt(recordWith(apiKey, { health_check: { checked_at: iso(T + HOUR) } }), policy)).toBe(
      T + 13 * HOUR,
    );
    expect(
      attentionAt(
        recordWith(apiKey, { health_check: { checked_at: iso(T + HOUR), retry_at: iso(T + HOUR + 5 * MIN) } }),
        policy,
      ),
    ).toBe(T + HOUR + 5 * MIN);
    expect(attentionAt(recordWith(apiKey, { provider_config_key: 'unverifiable' }), policy)).toBe(null);
  });

  it('minted credentials (JWT, client credentials…) are kept by health checks, not by minting again', () => {
    const minted: Credentials = {
      type: 'OAUTH2_CC',
      token: 't',
      expires_at: iso(T + 10 * MIN),
      client_id: 'id',
      client_secret: 's',
      raw: {},
    } as Credentials;
    expect(attentionAt(recordWith(minted), policy)).toBe(T + 12 * HOUR);
    expect(attentionAt(recordWith(minted, { provider_config_key: 'unverifiable' }), policy)).toBe(null);
  });

  it('NONE credentials need nothing', () => {
    expect(
      attentionAt(recordWith({ type: 'NONE' } as Credentials, { provider_config_key: 'unverifiable' }), policy),
    ).toBe(null);
  });
});

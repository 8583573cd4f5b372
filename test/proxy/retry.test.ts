import { describe, expect, it } from 'vitest';
import { fromNangoProviders } from '../../src/providers/nango.js';
import { MAX_RETRY_WAIT_MS, retryWait } from '../../src/proxy/retry.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const half = () => 0.5;

function wait(method: string, status: number | undefined, headers: Record<string, string> = {}, attempt = 0) {
  return retryWait(
    { method, status, headers: new Headers(headers), attempt, now: NOW },
    { retries: 3, retryOn: [] },
    { at: ['x-ratelimit-reset'], after: ['x-retry-in'] },
    half,
  );
}

describe('retryWait', () => {
  it('waits what Retry-After asks, in seconds or as an HTTP date', () => {
    expect(wait('GET', 429, { 'retry-after': '3' })).toBe(3000);
    expect(wait('GET', 503, { 'retry-after': new Date(NOW + 5000).toUTCString() })).toBe(5000);
  });

  it('reads the provider’s declared headers: seconds to wait, or the reset instant', () => {
    expect(wait('GET', 429, { 'x-retry-in': '1.5' })).toBe(1500);
    expect(wait('GET', 429, { 'x-ratelimit-reset': String(NOW / 1000 + 7) })).toBe(7000);
  });

  it('backs off exponentially without a header, and stops after the retries asked for', () => {
    expect(wait('GET', 500, {}, 0)).toBe(50);
    expect(wait('GET', 500, {}, 2)).toBe(200);
    expect(wait('GET', 500, {}, 3)).toBeUndefined();
    expect(
      retryWait({ method: 'GET', status: 500, attempt: 0, now: NOW }, { retries: 0, retryOn: [] }, undefined),
    ).toBe(undefined);
  });

  it('retries a POST on 429 but not on a 5xx or a lost connection unless retryOn lists it', () => {
    expect(wait('POST', 429)).toBe(50);
    expect(wait('POST', 502)).toBeUndefined();
    expect(wait('POST', undefined)).toBeUndefined();
    expect(wait('PUT', undefined)).toBe(50);
    expect(
      retryWait({ method: 'POST', status: 502, attempt: 0, now: NOW }, { retries: 1, retryOn: [502] }, undefined, half),
    ).toBe(50);
    expect(wait('GET', 404)).toBeUndefined();
  });

  it('returns the answer instead of waiting longer than the cap', () => {
    expect(wait('GET', 429, { 'retry-after': String(MAX_RETRY_WAIT_MS / 1000 + 1) })).toBeUndefined();
  });
});

describe('the Nango importer', () => {
  it('takes proxy.retry.at and proxy.retry.after, one name or several', () => {
    const { providers } = fromNangoProviders({
      limited: {
        auth_mode: 'API_KEY',
        proxy: {
          base_url: 'https://api.example.com',
          retry: { at: 'x-ratelimit-reset', after: ['retry-after-ms', 'x-wait'] },
        },
      },
    });
    expect(providers.limited?.proxy?.retry).toEqual({ at: ['x-ratelimit-reset'], after: ['retry-after-ms', 'x-wait'] });
  });
});

import type * as OpenidClient from 'openid-client';

let loading: Promise<typeof OpenidClient> | undefined;

/**
 * openid-client (with oauth4webapi and part of jose), loaded on the first token request or
 * authorization URL rather than with Latchkey: a process that only reads stored credentials, or
 * whose credentials are API keys, never needs it, and importing it costs ~20 ms of start-up.
 */
export function loadOpenidClient(): Promise<typeof OpenidClient> {
  loading ??= import('openid-client');
  return loading;
}

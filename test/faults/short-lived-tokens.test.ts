import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionManager, InvalidRequestError } from '../../src/index.js';
import { startClientCredentialsServer, startOneGrantServer } from '../support/token-server.js';
import { captureLogs } from '../support/logs.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const SECOND = 1000;
const start = Date.parse('2026-11-23T12:00:00.000Z');

/** 200 gets, one every 3 s of the injected clock (10 minutes), checking no expired token is handed out. */
async function twoHundredGets(manager: ConnectionManager, clock: { now: number }, expiresAtOf: (c: unknown) => string) {
  for (let i = 0; i < 200; i++) {
    const connection = await manager.get('conn');
    expect(Date.parse(expiresAtOf(connection.credentials))).toBeGreaterThan(clock.now);
    clock.now += 3 * SECOND;
  }
}

describe('tokens that live shorter than the margin (default 15 minutes)', () => {
  it('OAUTH2 with 5-minute tokens: refreshed when half the lifetime is left, not on every get', async () => {
    const server = await startOneGrantServer({ expiresIn: 300 });
    cleanups.push(() => server.close());
    const clock = { now: start };
    const manager = new ConnectionManager({
      integrations: {
        crm: {
          provider: 'crm',
          clientId: server.clientId,
          clientSecret: server.clientSecret,
          definition: { authMode: 'OAUTH2', tokenUrl: server.url },
        },
      },
      http: { allowInsecureLoopback: true },
      clock: () => clock.now,
      logger: captureLogs().logger,
      requireEncryption: false,
    });
    cleanups.push(() => manager.close());
    await manager.create({
      connectionId: 'conn',
      providerConfigKey: 'crm',
      credentials: {
        type: 'OAUTH2',
        access_token: 'access-0',
        refresh_token: 'refresh-0',
        expires_at: new Date(start + 300 * SECOND).toISOString(),
      },
    });
    await twoHundredGets(manager, clock, (c) => (c as { expires_at: string }).expires_at);
    // The stored token's lifetime is unknown, so the first get refreshes it (5 < 15 minutes); from
    // then on with 2.5 minutes of each 5-minute token left: at 0, 2.5, 5 and 7.5 minutes — 4 (was 200).
    expect(server.presented).toHaveLength(4);
    expect(server.revoked).toBe(false);
  });

  it('OAUTH2_CC with 1-minute tokens, and a configurable fraction', async () => {
    const server = await startClientCredentialsServer({
      method: 'client_secret_post',
      clientId: 'machine-client',
      clientSecret: 'machine-secret',
      expiresIn: 60,
    });
    cleanups.push(() => server.close());
    const clock = { now: start };
    const manager = new ConnectionManager({
      integrations: {
        api: {
          provider: 'machine-api',
          clientId: 'machine-client',
          clientSecret: 'machine-secret',
          definition: { authMode: 'OAUTH2_CC', tokenUrl: server.url, tokenRequestAuthMethod: 'client_secret_post' },
        },
      },
      http: { allowInsecureLoopback: true },
      clock: () => clock.now,
      logger: captureLogs().logger,
      requireEncryption: false,
      refreshLifetimeFraction: 0.25,
    });
    cleanups.push(() => manager.close());
    await manager.create({ connectionId: 'conn', providerConfigKey: 'api', credentials: { type: 'OAUTH2_CC' } });
    await twoHundredGets(manager, clock, (c) => (c as { expires_at: string }).expires_at);
    // A token every 45 s (refreshed with 15 s of its 60 s left) over 10 minutes: 14 (was 200).
    expect(server.granted).toHaveLength(14);
    expect(server.refusals).toEqual([]);
  });

  it('refuses a lifetime fraction outside (0, 1]', () => {
    expect(() => new ConnectionManager({ refreshLifetimeFraction: 0 })).toThrow(InvalidRequestError);
    expect(() => new ConnectionManager({ refreshLifetimeFraction: 1.5 })).toThrow(/refreshLifetimeFraction/);
  });
});

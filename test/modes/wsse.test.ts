import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { wsseHeader } from '../../src/signing/wsse.js';
import { countingWrites } from '../support/keys.js';
import { testManager } from '../support/manager.js';
import { strategySuite } from './strategy-suite.js';

/**
 * What Emarsys does with an X-WSSE header: recompute PasswordDigest = base64(sha1_hex(nonce +
 * created + secret)) and accept it within 5 minutes of Created.
 */
function emarsysAccepts(header: string, username: string, secret: string, now: number): boolean {
  const fields = Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  if (!header.startsWith('UsernameToken ') || fields.Username !== username) return false;
  const digest = Buffer.from(
    createHash('sha1').update(`${fields.Nonce}${fields.Created}${secret}`).digest('hex'),
  ).toString('base64');
  const age = now - Date.parse(fields.Created ?? '');
  return digest === fields.PasswordDigest && /^[0-9a-f]{32}$/.test(fields.Nonce ?? '') && age >= 0 && age <= 5 * 60_000;
}

function signatureManager(clock: () => number, store = memoryStore()) {
  return testManager({
    store,
    integrations: { emarsys: { provider: 'emarsys', definition: { authMode: 'SIGNATURE' } } },
    clock,
  });
}

describe('SIGNATURE (WSSE)', () => {
  it('computes the digest as Emarsys documents it', () => {
    const header = wsseHeader('customer001', 'secret', '2ab1e3ac0b0f7d5a9b8f4e1c2d3e4f50', '2026-11-23T12:00:00.000Z');
    expect(emarsysAccepts(header, 'customer001', 'secret', Date.parse('2026-11-23T12:01:00.000Z'))).toBe(true);
    expect(emarsysAccepts(header, 'customer001', 'other', Date.parse('2026-11-23T12:01:00.000Z'))).toBe(false);
  });

  it('re-mints before the 5-minute window closes, serves X-WSSE through signRequest, and mints once for concurrent gets', async () => {
    let now = Date.parse('2026-11-23T12:00:00.000Z');
    const counted = countingWrites(memoryStore());
    const manager = signatureManager(() => now, counted.store);
    await manager.create({
      connectionId: 'acme',
      providerConfigKey: 'emarsys',
      credentials: { type: 'SIGNATURE', username: 'acme001', password: 'wsse-secret' },
    });
    const writes = counted.writes();
    const results = await Promise.all(Array.from({ length: 8 }, () => manager.get('acme')));
    const token = (results[0]?.credentials as { token: string }).token;
    expect(new Set(results.map((r) => (r.credentials as { token: string }).token)).size).toBe(1);
    expect(counted.writes() - writes).toBe(1);
    expect(emarsysAccepts(token, 'acme001', 'wsse-secret', now)).toBe(true);

    now += 3 * 60_000;
    expect(
      await manager.signRequest('acme', { method: 'GET', url: 'https://api.emarsys.net/api/v2/settings' }),
    ).toEqual({ 'X-WSSE': token });
    now += 61_000;
    const renewed = (
      await manager.signRequest('acme', { method: 'GET', url: 'https://api.emarsys.net/api/v2/settings' })
    )['X-WSSE'] as string;
    expect(renewed).not.toBe(token);
    expect(emarsysAccepts(renewed, 'acme001', 'wsse-secret', now + 4 * 60_000)).toBe(true);
    await manager.close();
  });
});

strategySuite(
  'SIGNATURE',
  async () => {
    const manager = signatureManager(Date.now);
    return {
      manager,
      input: {
        connectionId: 'suite',
        providerConfigKey: 'emarsys',
        credentials: { type: 'SIGNATURE', username: 'u001', password: 'p' },
      },
      async verify(connection) {
        expect(emarsysAccepts((connection.credentials as { token: string }).token, 'u001', 'p', Date.now())).toBe(true);
      },
      close: () => manager.close(),
    };
  },
  [
    ['a missing password', { type: 'SIGNATURE', username: 'u' }, 'credentials.password'],
    ['a numeric username', { type: 'SIGNATURE', username: 1, password: 'p' }, 'credentials.username'],
  ],
);

import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { describe, expect, it } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import { ConnectionManager, DecryptionError, InvalidRequestError } from '../../src/index.js';
import { RecordCipher } from '../../src/store/record-cipher.js';
import { testManagerOptions } from '../support/manager.js';

const key = randomBytes(32);
const keyText = key.toString('base64');
const ring = { id: 'k1', key: keyText };

/** A sealed value's ciphertext segment with one character changed (still base64url). */
function altered(sealed: string): string {
  const parts = sealed.split('.');
  const ciphertext = parts[3] as string;
  parts[3] = `${ciphertext[0] === 'A' ? 'B' : 'A'}${ciphertext.slice(1)}`;
  return parts.join('.');
}

describe('RecordCipher: the compact JWE format', () => {
  it('opens what jose sealed, and jose opens what it seals (values sealed by earlier versions still open)', async () => {
    const cipher = new RecordCipher(ring, 0);
    const value = { credentials: { type: 'API_KEY', apiKey: 'k-ü-€' }, connection_config: {} };
    const byJose = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(value)))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: 'k1', rec: 'connection:a' })
      .encrypt(key);
    expect(await cipher.open(byJose, 'connection:a')).toEqual(value);

    const sealed = await cipher.seal(value, 'connection:b');
    const { plaintext, protectedHeader } = await compactDecrypt(sealed, key);
    expect(protectedHeader).toEqual({ alg: 'dir', enc: 'A256GCM', kid: 'k1', rec: 'connection:b' });
    expect(JSON.parse(new TextDecoder().decode(plaintext))).toEqual(value);
    expect(RecordCipher.keyIdOf(sealed)).toBe('k1');
  });

  it('refuses a value altered in any segment, moved to another record, or sealed another way', async () => {
    const cipher = new RecordCipher(ring, 0);
    const sealed = await cipher.seal({ secret: 's' }, 'connection:a');
    const [header, , iv, ciphertext, tag] = sealed.split('.') as string[];
    const zipped = await new CompactEncrypt(new TextEncoder().encode('{}'))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: 'k1', rec: 'connection:a', zip: 'DEF' })
      .encrypt(key);
    const cases = [
      altered(sealed),
      `${header}..${iv}.${ciphertext}.${(tag as string).slice(0, -2)}AA`,
      `${header}..${iv}.${ciphertext}.${tag}.extra`,
      `${header}.x.${iv}.${ciphertext}.${tag}`,
      `${header}..${iv}.${ciphertext}!.${tag}`,
      zipped,
    ];
    for (const bad of cases) {
      await expect(cipher.open(bad, 'connection:a')).rejects.toBeInstanceOf(DecryptionError);
    }
    await expect(cipher.open(sealed, 'connection:other')).rejects.toBeInstanceOf(DecryptionError);
  });

  it('refuses a cache budget that is not a non-negative number, naming the option', () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '1' as unknown as number]) {
      const error = (() => {
        try {
          new RecordCipher(ring, bad);
        } catch (thrown) {
          return thrown;
        }
      })();
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error).toMatchObject({ code: 'invalid_request', field: 'encryptionCacheBytes' });
    }
  });
});

describe('RecordCipher: the cache of opened values', () => {
  const value = (i: number) => ({ credentials: { type: 'API_KEY', apiKey: `secret-${i}-${'x'.repeat(200)}` } });

  it('stays within its byte budget, evicting the least recently used record first', async () => {
    const probe = new RecordCipher(ring, 1_000_000);
    await probe.seal(value(0), 'connection:r0');
    const perEntry = probe.cacheStats().bytes;
    expect(perEntry).toBeGreaterThan(0);

    const cipher = new RecordCipher(ring, perEntry * 3 + perEntry / 2);
    const writer = new RecordCipher(ring, 0);
    const sealed = await Promise.all([0, 1, 2, 3, 4].map((i) => writer.seal(value(i), `connection:r${i}`)));
    for (const i of [0, 1, 2]) expect(await cipher.open(sealed[i] as string, `connection:r${i}`)).toEqual(value(i));
    expect(cipher.cacheStats().recordKeys).toEqual(['connection:r0', 'connection:r1', 'connection:r2']);
    // A hit makes r0 the most recently used, so letting r3 in evicts r1.
    await cipher.open(sealed[0] as string, 'connection:r0');
    await cipher.open(sealed[3] as string, 'connection:r3');
    expect(cipher.cacheStats().recordKeys).toEqual(['connection:r2', 'connection:r0', 'connection:r3']);
    const stats = cipher.cacheStats();
    expect(stats.bytes).toBeLessThanOrEqual(stats.limit);
    // Evicted records still open (a miss decrypts).
    expect(await cipher.open(sealed[1] as string, 'connection:r1')).toEqual(value(1));
    expect(await cipher.open(sealed[4] as string, 'connection:r4')).toEqual(value(4));
  });

  it('once full, lets only one new record in 32 in, so more records in use than it holds do not churn it', async () => {
    // Records of one size: ids and values padded to two digits.
    const id = (i: number) => `connection:r${String(i).padStart(2, '0')}`;
    const valueOf = (i: number) => value(10 + i);
    const probe = new RecordCipher(ring, 1_000_000);
    await probe.seal(valueOf(0), id(0));
    const cipher = new RecordCipher(ring, probe.cacheStats().bytes * 10);
    const writer = new RecordCipher(ring, 0);
    const sealed = await Promise.all(Array.from({ length: 74 }, (_, i) => writer.seal(valueOf(i), id(i))));
    for (let i = 0; i < 10; i++) await cipher.open(sealed[i] as string, id(i));
    expect(cipher.cacheStats().recordKeys).toHaveLength(10);
    // 64 more records while full: two are let in (the 1st and the 33rd), each evicting the oldest.
    for (let i = 10; i < 74; i++) expect(await cipher.open(sealed[i] as string, id(i))).toEqual(valueOf(i));
    const { recordKeys, bytes, limit } = cipher.cacheStats();
    expect(recordKeys).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 42].map(id));
    expect(bytes).toBeLessThanOrEqual(limit);
    // A record already held is always replaced by its rewrite, full or not.
    const rewritten = await writer.seal(valueOf(50), id(5));
    expect(await cipher.open(rewritten, id(5))).toEqual(valueOf(50));
    expect(cipher.cacheStats().recordKeys.at(-1)).toBe(id(5));
  });

  it('holds one entry per record, whatever the number of rewrites, and never more than the budget', async () => {
    const cipher = new RecordCipher(ring, 50_000);
    for (let i = 0; i < 500; i++) {
      const sealed = await cipher.seal(value(i), `connection:r${i % 7}`);
      await cipher.open(sealed, `connection:r${i % 7}`);
      expect(cipher.cacheStats().bytes).toBeLessThanOrEqual(50_000);
    }
    expect(cipher.cacheStats().recordKeys).toHaveLength(7);
    const none = new RecordCipher(ring, 0);
    await none.open(await none.seal(value(1), 'connection:a'), 'connection:a');
    expect(none.cacheStats()).toEqual({ recordKeys: [], bytes: 0, limit: 0 });
  });

  it('never serves an old plaintext for a rewritten, altered or moved value', async () => {
    const cipher = new RecordCipher(ring);
    const first = await cipher.seal(value(1), 'connection:a');
    expect(await cipher.open(first, 'connection:a')).toEqual(value(1));
    // Rewritten elsewhere (another process, same key): the new text opens to the new value.
    const second = await new RecordCipher(ring, 0).seal(value(2), 'connection:a');
    expect(await cipher.open(second, 'connection:a')).toEqual(value(2));
    // The old text is still a valid sealed value of this record: it opens to its own plaintext.
    expect(await cipher.open(first, 'connection:a')).toEqual(value(1));
    // Altered while its record is cached: refused, not served from memory.
    await expect(cipher.open(altered(first), 'connection:a')).rejects.toBeInstanceOf(DecryptionError);
    // Cached under one record, presented as another's: refused.
    await expect(cipher.open(first, 'connection:b')).rejects.toBeInstanceOf(DecryptionError);
  });

  it('a manager reads what another process rewrote, not what it opened before', async () => {
    const path = join(tmpdir(), `latchkey-cipher-${randomBytes(6).toString('hex')}.db`);
    const integrations = { keys: { provider: 'any', definition: { authMode: 'API_KEY' as const } } };
    const options = { integrations, encryptionKey: keyText };
    const reader = new ConnectionManager(testManagerOptions({ ...options, store: sqliteStore(path) }));
    const writer = new ConnectionManager(testManagerOptions({ ...options, store: sqliteStore(path) }));
    await writer.create({
      connectionId: 'c',
      providerConfigKey: 'keys',
      credentials: { type: 'API_KEY', apiKey: 'one' },
    });
    expect((await reader.get('c')).credentials).toMatchObject({ apiKey: 'one' });
    await writer.upsert({
      connectionId: 'c',
      providerConfigKey: 'keys',
      credentials: { type: 'API_KEY', apiKey: 'two' },
    });
    expect((await reader.get('c')).credentials).toMatchObject({ apiKey: 'two' });
    await reader.close();
    await writer.close();
    for (const suffix of ['', '-wal', '-shm']) await rm(`${path}${suffix}`, { force: true });
  });
});

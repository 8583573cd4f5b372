import { createHash } from 'node:crypto';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';
import { DecryptionError, InvalidRequestError, UnknownEncryptionKeyError } from '../model/errors.js';

/** A 256-bit key as base64 (or base64url), optionally with an id; without one the id is the key's fingerprint. */
export type EncryptionKey = string | { id: string; key: string };

/** One key, or a ring: the first key encrypts, every key decrypts (older keys during a rotation). */
export type EncryptionKeyOption = EncryptionKey | EncryptionKey[];

interface RingKey {
  id: string;
  bytes: Uint8Array;
}

/**
 * Seals secrets at rest as compact JWE (`dir` + `A256GCM`, jose): authenticated encryption whose
 * protected header names the key (`kid`) and the record it belongs to (`rec`), so a sealed value
 * copied onto another connection's row, or altered in any byte, fails to open.
 */
export class RecordCipher {
  readonly #current: RingKey;
  readonly #keys: Map<string, RingKey>;
  /**
   * Plaintext of recently opened values, keyed by the exact sealed text and record: AES-GCM through
   * WebCrypto costs ~100 µs, which would dominate `get`. A hit needs byte-identical ciphertext, so
   * it can never serve altered or moved data; it holds no more than the process already handles.
   */
  readonly #opened = new Map<string, string>();

  constructor(option: EncryptionKeyOption) {
    const keys = (Array.isArray(option) ? option : [option]).map(toRingKey);
    if (keys.length === 0) throw new InvalidRequestError('encryptionKey needs at least one key', 'encryptionKey');
    this.#current = keys[0] as RingKey;
    this.#keys = new Map(keys.map((key) => [key.id, key]));
    if (this.#keys.size !== keys.length)
      throw new InvalidRequestError('two encryption keys share an id', 'encryptionKey');
  }

  get currentKeyId(): string {
    return this.#current.id;
  }

  async seal(value: unknown, recordKey: string): Promise<string> {
    return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(value)))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: this.#current.id, rec: recordKey })
      .encrypt(this.#current.bytes);
  }

  async open(sealed: string, recordKey: string): Promise<unknown> {
    const cacheKey = `${recordKey}\n${sealed}`;
    const cached = this.#opened.get(cacheKey);
    if (cached !== undefined) return JSON.parse(cached);
    const keyId = RecordCipher.keyIdOf(sealed);
    const key = keyId === undefined ? undefined : this.#keys.get(keyId);
    if (!key) throw new UnknownEncryptionKeyError(keyId ?? '(none)', recordKey);
    try {
      const { plaintext, protectedHeader } = await compactDecrypt(sealed, key.bytes);
      if (protectedHeader.rec !== recordKey) throw new Error('sealed for another record');
      const text = new TextDecoder().decode(plaintext);
      if (this.#opened.size >= OPENED_CACHE_SIZE) this.#opened.delete(this.#opened.keys().next().value as string);
      this.#opened.set(cacheKey, text);
      return JSON.parse(text);
    } catch {
      throw new DecryptionError(
        `The sealed secrets of ${recordKey} do not decrypt: altered, or moved from another record`,
      );
    }
  }

  /** The key id a sealed value names, if it can be read at all. */
  static keyIdOf(sealed: string): string | undefined {
    try {
      const kid = decodeProtectedHeader(sealed).kid;
      return typeof kid === 'string' ? kid : undefined;
    } catch {
      return undefined;
    }
  }
}

const OPENED_CACHE_SIZE = 10_000;

function toRingKey(key: EncryptionKey): RingKey {
  const encoded = typeof key === 'string' ? key : key?.key;
  const bytes =
    typeof encoded === 'string'
      ? Buffer.from(encoded, encoded.includes('-') || encoded.includes('_') ? 'base64url' : 'base64')
      : Buffer.alloc(0);
  if (bytes.length !== 32) {
    throw new InvalidRequestError(
      'encryptionKey must be 32 random bytes, base64-encoded (openssl rand -base64 32)',
      'encryptionKey',
    );
  }
  const id = typeof key === 'string' ? `k-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}` : key.id;
  if (typeof id !== 'string' || !/^[\w.-]{1,64}$/.test(id))
    throw new InvalidRequestError('an encryption key id must be 1-64 letters, digits, _ . -', 'encryptionKey');
  return { id, bytes: new Uint8Array(bytes) };
}

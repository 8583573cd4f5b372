import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { DecryptionError, InvalidRequestError, UnknownEncryptionKeyError } from '../model/errors.js';

/** A 256-bit key as base64 (or base64url), optionally with an id; without one the id is the key's fingerprint. */
export type EncryptionKey = string | { id: string; key: string };

/** One key, or a ring: the first key encrypts, every key decrypts (older keys during a rotation). */
export type EncryptionKeyOption = EncryptionKey | EncryptionKey[];

interface RingKey {
  id: string;
  bytes: Uint8Array;
}

/** The protected header of a sealed value: which key, and which record it belongs to. */
interface SealedHeader {
  alg?: unknown;
  enc?: unknown;
  kid?: unknown;
  rec?: unknown;
  [name: string]: unknown;
}

interface OpenedEntry {
  /** The exact sealed text this plaintext came from: a hit needs byte-identical input. */
  sealed: string;
  text: string;
  bytes: number;
}

/** Default budget of the cache of opened values: ~16,000 typical connection records. */
export const DEFAULT_OPENED_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * Once the cache is full, one new record in this many is let in (evicting the least recently
 * used); the others are opened and not kept. When more records are in use than the budget holds,
 * letting every miss in makes the cache churn without hits, and the churn (entries promoted to
 * the old generation, then dropped) cost more than the AES-GCM it was meant to save: measured,
 * 59 µs per `get` with 100,000 records in use against 36 µs with no cache at all. Sampled
 * admission keeps a stable subset that still hits, and a working set that fits still moves in,
 * a little slower.
 */
const ADMIT_ONE_IN = 32;

const BASE64URL = /^[\w-]*$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Seals secrets at rest as compact JWE (RFC 7516: `dir` + `A256GCM`): authenticated encryption
 * whose protected header names the key (`kid`) and the record it belongs to (`rec`), so a sealed
 * value copied onto another connection's row, or altered in any byte, fails to open.
 *
 * The JWE is built and opened with `node:crypto` directly rather than through jose: for this one
 * fixed algorithm pair the format is four base64url segments around AES-GCM, and the synchronous
 * OpenSSL cipher opens a record in ~6 µs where jose's WebCrypto path takes ~110 µs. The output is
 * byte-for-byte the format jose reads and writes, so values sealed by earlier versions still open.
 */
export class RecordCipher {
  readonly #current: RingKey;
  readonly #keys: Map<string, RingKey>;
  readonly #cacheBytes: number;
  /**
   * Plaintext of recently opened values, one entry per record key, least recently used first
   * (a `Map` keeps insertion order; a hit re-inserts). An entry serves a hit only when the sealed
   * text is identical to the one it was opened from, so a rewritten, altered or moved value never
   * gets an old plaintext; and a rewrite of a record replaces its entry instead of adding one.
   * Bounded by bytes, not entries; once full, new records are admitted by sampling
   * ({@link ADMIT_ONE_IN}). A miss costs one AES-GCM open (~12 µs with the parse), a hit ~1 µs.
   */
  readonly #opened = new Map<string, OpenedEntry>();
  #openedBytes = 0;
  #missesWhileFull = 0;

  /** @param cacheBytes budget of the cache of opened values (approximate, UTF-16 sizes); 0 disables it. */
  constructor(option: EncryptionKeyOption, cacheBytes: number = DEFAULT_OPENED_CACHE_BYTES) {
    const keys = (Array.isArray(option) ? option : [option]).map(toRingKey);
    if (keys.length === 0) throw new InvalidRequestError('encryptionKey needs at least one key', 'encryptionKey');
    this.#current = keys[0] as RingKey;
    this.#keys = new Map(keys.map((key) => [key.id, key]));
    if (this.#keys.size !== keys.length)
      throw new InvalidRequestError('two encryption keys share an id', 'encryptionKey');
    if (typeof cacheBytes !== 'number' || !(cacheBytes >= 0) || !Number.isFinite(cacheBytes)) {
      throw new InvalidRequestError('encryptionCacheBytes must be a non-negative number', 'encryptionCacheBytes');
    }
    this.#cacheBytes = cacheBytes;
  }

  get currentKeyId(): string {
    return this.#current.id;
  }

  /** What the cache of opened values holds now, least recently used first (tests, diagnostics). */
  cacheStats(): { recordKeys: string[]; bytes: number; limit: number } {
    return { recordKeys: [...this.#opened.keys()], bytes: this.#openedBytes, limit: this.#cacheBytes };
  }

  async seal(value: unknown, recordKey: string): Promise<string> {
    const header = Buffer.from(
      JSON.stringify({ alg: 'dir', enc: 'A256GCM', kid: this.#current.id, rec: recordKey }),
    ).toString('base64url');
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#current.bytes, iv);
    cipher.setAAD(Buffer.from(header, 'ascii'));
    const text = JSON.stringify(value);
    const ciphertext = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    const sealed = `${header}..${iv.toString('base64url')}.${ciphertext.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
    // What was just written is what the next read of this record will open.
    this.#remember(recordKey, sealed, text);
    return sealed;
  }

  async open(sealed: string, recordKey: string): Promise<unknown> {
    return JSON.parse(this.#openText(sealed, recordKey));
  }

  #openText(sealed: string, recordKey: string): string {
    const cached = this.#opened.get(recordKey);
    if (cached !== undefined && cached.sealed === sealed) {
      this.#opened.delete(recordKey);
      this.#opened.set(recordKey, cached);
      return cached.text;
    }
    const header = readHeader(sealed);
    const keyId = typeof header?.kid === 'string' ? header.kid : undefined;
    const key = keyId === undefined ? undefined : this.#keys.get(keyId);
    if (!key || !header) throw new UnknownEncryptionKeyError(keyId ?? '(none)', recordKey);
    let text: string;
    try {
      text = decrypt(sealed, header, key.bytes, recordKey);
    } catch {
      throw new DecryptionError(
        `The sealed secrets of ${recordKey} do not decrypt: altered, or moved from another record`,
      );
    }
    this.#remember(recordKey, sealed, text);
    return text;
  }

  #remember(recordKey: string, sealed: string, text: string): void {
    const bytes = 2 * (recordKey.length + sealed.length + text.length);
    const previous = this.#opened.get(recordKey);
    if (previous !== undefined) {
      // A record rewritten: its new text replaces the old one, whatever the admission rule says.
      this.#opened.delete(recordKey);
      this.#openedBytes -= previous.bytes;
    } else if (this.#openedBytes + bytes > this.#cacheBytes && this.#missesWhileFull++ % ADMIT_ONE_IN !== 0) {
      // Full: most new records are not let in (see ADMIT_ONE_IN).
      return;
    }
    if (bytes > this.#cacheBytes) return;
    this.#opened.set(recordKey, { sealed, text, bytes });
    this.#openedBytes += bytes;
    while (this.#openedBytes > this.#cacheBytes) {
      const [oldestKey, oldest] = this.#opened.entries().next().value as [string, OpenedEntry];
      this.#opened.delete(oldestKey);
      this.#openedBytes -= oldest.bytes;
    }
  }

  /** The key id a sealed value names, if it can be read at all. */
  static keyIdOf(sealed: string): string | undefined {
    const kid = readHeader(sealed)?.kid;
    return typeof kid === 'string' ? kid : undefined;
  }
}

/** The decoded protected header of a compact JWE, or undefined if it is not one. */
function readHeader(sealed: string): SealedHeader | undefined {
  if (typeof sealed !== 'string') return undefined;
  const end = sealed.indexOf('.');
  if (end <= 0) return undefined;
  const segment = sealed.slice(0, end);
  if (!BASE64URL.test(segment)) return undefined;
  try {
    const header: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return header !== null && typeof header === 'object' && !Array.isArray(header)
      ? (header as SealedHeader)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Opens a compact JWE sealed with `dir` + `A256GCM` for `recordKey`; throws on anything else. The
 * additional authenticated data is the header segment as written, so the header (key id, record)
 * cannot be changed without failing the tag.
 */
function decrypt(sealed: string, header: SealedHeader, key: Uint8Array, recordKey: string): string {
  const parts = sealed.split('.');
  if (parts.length !== 5 || parts[1] !== '') throw new Error('not a compact JWE with direct encryption');
  const [protectedHeader, , iv, ciphertext, tag] = parts as [string, string, string, string, string];
  if (!BASE64URL.test(iv) || !BASE64URL.test(ciphertext) || !BASE64URL.test(tag)) throw new Error('not base64url');
  // jose refuses what it does not implement (crit, zip); so do we.
  if (header.alg !== 'dir' || header.enc !== 'A256GCM' || 'crit' in header || 'zip' in header) {
    throw new Error('unsupported JWE header');
  }
  if (header.rec !== recordKey) throw new Error('sealed for another record');
  const ivBytes = Buffer.from(iv, 'base64url');
  const tagBytes = Buffer.from(tag, 'base64url');
  if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES) throw new Error('bad iv or tag length');
  const decipher = createDecipheriv('aes-256-gcm', key, ivBytes, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(protectedHeader, 'ascii'));
  decipher.setAuthTag(tagBytes);
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}

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

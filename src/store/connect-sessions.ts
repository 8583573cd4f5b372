import { createHash, randomBytes } from 'node:crypto';
import * as v from 'valibot';
import { CONNECT_SESSION_TOKEN, CONNECT_SESSION_TOKEN_PREFIX, type ConnectSession } from '../model/connect-session.js';
import { StoredConnectSessionSchema } from '../model/connect-session-schema.js';
import { isPlainObject } from '../model/json.js';
import type { RecordCipher } from './record-cipher.js';
import type { Shape, VersionedStore } from './versioned-store.js';

const PREFIX = 'connect_session:';

type StoredSession = ConnectSession | { sealed: string; expiresAt: number };

const storedShape: Shape<StoredSession> = {
  is: (data): data is StoredSession => problemOf(data) === undefined,
  problem: (data) => problemOf(data) ?? 'unknown',
};

function problemOf(data: unknown): string | undefined {
  if (!isPlainObject(data)) return 'not an object';
  if (typeof data.expiresAt !== 'number') return 'expiresAt';
  if (typeof data.sealed === 'string') return undefined;
  return v.is(StoredConnectSessionSchema, data) ? undefined : 'session';
}

/**
 * Connect sessions in the connection store, so every process sharing the store serves a flow
 * whichever process created its session. The token itself is never stored: the key is its
 * SHA-256, so a copy of the store hands nobody a usable token (256 random bits need no slow hash).
 * The session is sealed like credentials when an encryption key is configured; it carries the end
 * user's email and tags. The store's expiry removes sessions nobody deleted.
 */
export class ConnectSessions {
  readonly #store: VersionedStore;
  readonly #cipher: RecordCipher | undefined;

  constructor(store: VersionedStore, cipher: RecordCipher | undefined) {
    this.#store = store;
    this.#cipher = cipher;
  }

  /** Stores `session` under a fresh token and returns the token. */
  async create(session: ConnectSession): Promise<string> {
    const token = CONNECT_SESSION_TOKEN_PREFIX + randomBytes(32).toString('hex');
    const key = keyOf(token);
    const stored: StoredSession = this.#cipher
      ? { sealed: await this.#cipher.seal(session, key), expiresAt: session.expiresAt }
      : session;
    // expiresAt (on the manager's clock) decides validity; the store's expiry, a minute later, only cleans up.
    await this.#store.insert(key, stored, { ttlMs: Math.max(1000, session.expiresAt - Date.now()) + 60_000 });
    return token;
  }

  /** The session behind `token`; `undefined` for a malformed, unknown, deleted or expired token. */
  async read(token: string, now: number): Promise<ConnectSession | undefined> {
    if (typeof token !== 'string' || !CONNECT_SESSION_TOKEN.test(token)) return undefined;
    return this.readRef(refOf(token), now);
  }

  /**
   * The session whose token hashes to `ref` ({@link refOf}): how a flow started with a session
   * checks, at its callback, that the session still stands, without keeping the token itself.
   */
  async readRef(ref: string, now: number): Promise<ConnectSession | undefined> {
    if (typeof ref !== 'string' || !/^[a-f0-9]{64}$/.test(ref)) return undefined;
    const key = PREFIX + ref;
    const stored = await this.#store.read(key, storedShape);
    if (!stored || stored.value.expiresAt <= now) return undefined;
    if (!('sealed' in stored.value)) return stored.value;
    if (!this.#cipher) return undefined;
    const session = await this.#cipher.open(stored.value.sealed, key);
    return v.is(StoredConnectSessionSchema, session) ? (session as ConnectSession) : undefined;
  }

  /** Deletes the session; whether there was one. */
  async delete(token: string): Promise<boolean> {
    if (typeof token !== 'string' || !CONNECT_SESSION_TOKEN.test(token)) return false;
    const key = keyOf(token);
    const stored = await this.#store.read(key, storedShape);
    return stored !== undefined && (await this.#store.remove(key, stored));
  }
}

function keyOf(token: string): string {
  return PREFIX + refOf(token);
}

/** What a flow keeps of its session: the token's SHA-256, never the token. */
export function refOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

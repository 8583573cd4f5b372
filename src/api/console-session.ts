/**
 * The console's login cookie. It never holds the key: it holds an expiry, which key it stands
 * for (a hash of the key's hash, which reveals nothing), and an HMAC of both keyed with the key's
 * own hash. So every process configured with the same keys accepts it (no session table), a key
 * removed from the configuration ends its cookies at once, and a stolen cookie ends at its expiry.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { type Caller, callerOfKey, type KeyRing } from './access.js';

export const COOKIE_NAME = 'latchkey_console';
/** How long a login lasts. */
export const SESSION_MS = 8 * 3_600_000;

/** The cookie value for a key that just logged in; `undefined` when the key is not configured. */
export function sealSession(ring: KeyRing, key: string, now: number): string | undefined {
  if (!callerOfKey(ring, key)) return undefined;
  const keyDigest = createHash('sha256').update(key, 'utf8').digest();
  const expires = String(now + SESSION_MS);
  const id = keyId(keyDigest);
  return `${expires}.${id}.${mac(keyDigest, expires, id)}`;
}

/** The caller a cookie value stands for, if it is one this ring signed and it has not expired. */
export function openSession(ring: KeyRing, value: string, now: number): Caller | undefined {
  const match = /^(\d{1,16})\.([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!match) return undefined;
  const [expires, id, presented] = [match[1]!, match[2]!, match[3]!];
  if (Number(expires) <= now) return undefined;
  let found: Caller | undefined;
  // Every key is tried, whichever matches: the time taken says nothing about which one it was.
  for (const { digest, caller } of ring.keys) {
    const expected = Buffer.from(mac(digest, expires, id), 'utf8');
    const sameId = keyId(digest) === id;
    if (timingSafeEqual(expected, Buffer.from(presented, 'utf8')) && sameId) found ??= caller;
  }
  return found;
}

/** The value of `Set-Cookie`: scoped to the console's path, never readable by scripts, never sent cross-site. */
export function sessionCookie(path: string, value: string, secure: boolean): string {
  return `${COOKIE_NAME}=${value}; Path=${path}; Max-Age=${SESSION_MS / 1000}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** `Set-Cookie` that removes the login. */
export function clearedCookie(path: string, secure: boolean): string {
  return `${COOKIE_NAME}=; Path=${path}; Max-Age=0; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** The console cookie of a request, if it sent exactly one. */
export function cookieOf(headers: Headers): string | undefined {
  const values = (headers.get('cookie') ?? '')
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.startsWith(`${COOKIE_NAME}=`))
    .map((part) => part.slice(COOKIE_NAME.length + 1));
  return values.length === 1 ? values[0] : undefined;
}

function keyId(keyDigest: Buffer): string {
  return createHash('sha256').update(keyDigest).digest('hex').slice(0, 32);
}

function mac(keyDigest: Buffer, expires: string, id: string): string {
  return createHmac('sha256', keyDigest).update(`latchkey-console.${expires}.${id}`).digest('base64url');
}

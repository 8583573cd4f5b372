/**
 * Nango hides refresh tokens unless asked: any key whose name, lower-cased with `_` and `-`
 * removed, is `refreshtoken` — at any depth (providers nest them, e.g. Slack's `authed_user`).
 */
export function isRefreshTokenKey(key: string): boolean {
  // Every key of every credential passes here on each `get`: most are ruled out without a regex.
  if (key.length < 12) return false;
  const first = key.charCodeAt(0);
  if (first !== 0x72 && first !== 0x52 && first !== 0x5f && first !== 0x2d) return false; // r R _ -
  return key.toLowerCase().replace(/[_-]/g, '') === 'refreshtoken';
}

/** A deep copy of `value` without refresh-token keys. */
export function withoutRefreshTokens<T>(value: T): T {
  return copyJson(value, true);
}

/**
 * A deep copy of JSON data (what the store gives back), optionally without refresh-token keys.
 * Much cheaper than `structuredClone` for the small objects on `get`'s hot path.
 */
export function copyJson<T>(value: T, dropRefreshTokens = false): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item: unknown) => copyJson(item, dropRefreshTokens)) as T;
  const copy: Record<string, unknown> = {};
  for (const key in value) {
    if (!Object.hasOwn(value, key) || (dropRefreshTokens && isRefreshTokenKey(key))) continue;
    copy[key] = copyJson((value as Record<string, unknown>)[key], dropRefreshTokens);
  }
  return copy as T;
}

/**
 * Replaces every occurrence of each secret in `text` (e.g. a provider echoing a token back) — in
 * every encoding a request carries it: as is, URL- and form-encoded (`%2B%2F%3D`, `+` for a space,
 * whatever the case of the hex digits), and base64/base64url. Give {@link basicCredentialForms}
 * for the Basic header of a client id and secret.
 */
export function redactSecrets(text: string, secrets: Array<string | undefined>): string {
  let result = text;
  for (const secret of secrets) {
    if (!secret || secret.length < 4) continue;
    for (const form of encodedForms(secret)) {
      if (form === secret || /^[A-Za-z0-9+/=_-]+$/.test(form)) result = result.split(form).join('[redacted]');
      else result = result.replace(new RegExp(escapeRegExp(form), 'gi'), '[redacted]');
    }
  }
  return result;
}

/**
 * What a client id and secret look like in an `Authorization: Basic` header: base64 (and
 * base64url) of `id:secret`, raw and with both parts form-encoded first (RFC 6749 §2.3.1).
 */
export function basicCredentialForms(id: string | undefined, secret: string | undefined): string[] {
  if (!id || !secret) return [];
  const pairs = new Set([`${id}:${secret}`, ...URL_ENCODINGS.map((encode) => `${encode(id)}:${encode(secret)}`)]);
  return [...pairs].flatMap((pair) => {
    const bytes = Buffer.from(pair, 'utf8');
    return [bytes.toString('base64'), bytes.toString('base64url')];
  });
}

/** Percent-encodings in use: JavaScript's, HTML forms' (`URLSearchParams`), and OAuth's stricter one. */
const URL_ENCODINGS: Array<(value: string) => string> = [
  encodeURIComponent,
  (value) => new URLSearchParams({ v: value }).toString().slice(2),
  (value) =>
    encodeURIComponent(value)
      .replace(/[!'()*~._-]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
      .replace(/%20/g, '+'),
];

function encodedForms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const forms = new Set([
    secret,
    ...URL_ENCODINGS.map((encode) => encode(secret)),
    bytes.toString('base64'),
    bytes.toString('base64url'),
    bytes.toString('base64').replace(/=+$/, ''),
  ]);
  // Longest first, so a shorter form never leaves part of a longer one behind.
  return [...forms].filter((form) => form.length >= 4).sort((a, b) => b.length - a.length);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

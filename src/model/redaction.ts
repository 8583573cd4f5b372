/**
 * Nango hides refresh tokens unless asked: any key whose name, lower-cased with `_` and `-`
 * removed, is `refreshtoken` — at any depth (providers nest them, e.g. Slack's `authed_user`).
 */
export function isRefreshTokenKey(key: string): boolean {
  // Every key of every credential passes here on each `get`: most are ruled out without a regex,
  // and the usual spelling is matched without one.
  if (key === 'refresh_token') return true;
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
 * every encoding a request or an echo of it carries: as is, URL- and form-encoded (`%2B%2F%3D`,
 * `+` for a space, whatever the case of the hex digits), base64/base64url, and JSON-escaped
 * (`\"`, PHP's `\/`, `\u00e9`). A longer run of encoded text that decodes to something holding
 * a secret — base64 of the whole request, a URL-encoded JSON echo — is replaced whole, since the
 * secret inside it need not line up with its own encoding. Give {@link basicCredentialForms} for
 * the Basic header of a client id and secret.
 */
export function redactSecrets(text: string, secrets: Array<string | undefined>): string {
  const usable = secrets.filter((secret): secret is string => secret !== undefined && secret.length >= 4);
  if (usable.length === 0) return text;
  let result = text;
  for (const secret of usable) {
    for (const form of encodedForms(secret)) {
      if (form === secret || /^[A-Za-z0-9+/=_-]+$/.test(form)) result = result.split(form).join('[redacted]');
      else result = result.replace(new RegExp(escapeRegExp(form), 'gi'), '[redacted]');
    }
  }
  return result.replace(ENCODED_RUN, (run) => (hidesSecret(run, usable, 3) ? '[redacted]' : run));
}

/** Longest provider text quoted into an error: enough for an OAuth `error_description`. */
export const MAX_QUOTED_LENGTH = 300;

/**
 * Provider text fit to quote in an error message (an OAuth `error_description`, a `message`
 * field — never a raw body): every secret redacted in every encoding, control characters
 * dropped, at most {@link MAX_QUOTED_LENGTH} characters.
 */
export function quotedProviderText(text: string, secrets: Array<string | undefined>): string {
  // Control characters could forge log lines or terminal output.
  // eslint-disable-next-line no-control-regex
  const clean = redactSecrets(text, secrets).replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
  return clean.length > MAX_QUOTED_LENGTH ? `${clean.slice(0, MAX_QUOTED_LENGTH)}…` : clean;
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
  const json = JSON.stringify(secret).slice(1, -1);
  const forms = new Set([
    secret,
    ...URL_ENCODINGS.map((encode) => encode(secret)),
    bytes.toString('base64'),
    bytes.toString('base64url'),
    bytes.toString('base64').replace(/=+$/, ''),
    json,
    // PHP's json_encode: `/` as `\/`, and everything outside ASCII as `\uXXXX`.
    asciiJson(json).replace(/\//g, '\\/'),
    asciiJson(json),
  ]);
  // Longest first, so a shorter form never leaves part of a longer one behind.
  return [...forms].filter((form) => form.length >= 4).sort((a, b) => b.length - a.length);
}

/** Text that may be an encoding of something longer: base64(url), percent- or JSON-escaped. */
const ENCODED_RUN = /[A-Za-z0-9+/=_%\\.~-]{12,}/g;

/** Whether `run`, decoded (up to `depth` layers: base64 of a URL-encoded body…), holds a secret. */
function hidesSecret(run: string, secrets: string[], depth: number): boolean {
  for (const decoded of decodings(run)) {
    if (secrets.some((secret) => containsForm(decoded, secret))) return true;
    if (depth > 1 && (decoded.match(ENCODED_RUN) ?? []).some((inner) => hidesSecret(inner, secrets, depth - 1))) {
      return true;
    }
  }
  return false;
}

function containsForm(text: string, secret: string): boolean {
  const lower = text.toLowerCase();
  return encodedForms(secret).some((form) =>
    /^[A-Za-z0-9+/=_-]+$/.test(form) ? text.includes(form) : lower.includes(form.toLowerCase()),
  );
}

/** What `run` may be an encoding of; only decodings that change it. */
function decodings(run: string): string[] {
  const out = new Set<string>();
  if (run.includes('\\')) out.add(unescapeJson(run));
  if (run.includes('%')) {
    try {
      out.add(decodeURIComponent(run.replace(/\+/g, ' ')));
    } catch {
      // Not valid percent-encoding: nothing to decode.
    }
  }
  // Base64 of a larger text: the run may start mid-way through a quantum (a prefix such as
  // `data=` kept in the run), so every alignment is tried.
  const base64 = run.replace(/[^A-Za-z0-9+/_-]/g, '');
  if (base64.length >= 12) {
    for (let skip = 0; skip < 4; skip++) {
      out.add(Buffer.from(base64.slice(skip).replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
    }
  }
  out.delete(run);
  return [...out];
}

function unescapeJson(text: string): string {
  return text.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, escape: string) => {
    if (escape.length === 5) return String.fromCharCode(parseInt(escape.slice(1), 16));
    return ({ n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' } as Record<string, string>)[escape] ?? escape;
  });
}

function asciiJson(json: string): string {
  return json.replace(/[^\x20-\x7e]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

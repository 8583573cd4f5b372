/**
 * Nango hides refresh tokens unless asked: any key whose name, lower-cased with `_` and `-`
 * removed, is `refreshtoken` — at any depth (providers nest them, e.g. Slack's `authed_user`).
 */
export function isRefreshTokenKey(key: string): boolean {
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

/** Replaces every occurrence of each secret in `text` (e.g. a provider echoing a token back). */
export function redactSecrets(text: string, secrets: Array<string | undefined>): string {
  let result = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) result = result.split(secret).join('[redacted]');
  }
  return result;
}

/**
 * Nango hides refresh tokens unless asked: any key whose name, lower-cased with `_` and `-`
 * removed, is `refreshtoken` — at any depth (providers nest them, e.g. Slack's `authed_user`).
 */
export function isRefreshTokenKey(key: string): boolean {
  return key.toLowerCase().replace(/[_-]/g, '') === 'refreshtoken';
}

/** A deep copy of `value` without refresh-token keys. */
export function withoutRefreshTokens<T>(value: T): T {
  return strip(value) as T;
}

function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip);
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (!isRefreshTokenKey(key)) copy[key] = strip(child);
  }
  return copy;
}

/** Replaces every occurrence of each secret in `text` (e.g. a provider echoing a token back). */
export function redactSecrets(text: string, secrets: Array<string | undefined>): string {
  let result = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) result = result.split(secret).join('[redacted]');
  }
  return result;
}

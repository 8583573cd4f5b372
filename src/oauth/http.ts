import { InsecureRequestError } from '../errors.js';

/** How Latchkey talks to providers. */
export interface HttpSettings {
  /** Per-request timeout. */
  timeoutMs: number;
  /**
   * TEST ONLY. Lets token requests use plain `http:` — and only to loopback hosts (127.0.0.0/8,
   * `::1`, `localhost`), so it cannot expose a secret on a network even if left on by mistake.
   */
  allowInsecureLoopback: boolean;
}

export const defaultHttpSettings: HttpSettings = { timeoutMs: 10_000, allowInsecureLoopback: false };

/** Parses a provider URL and refuses plain HTTP unless it is loopback and the test switch is on. */
export function checkedUrl(url: string, http: HttpSettings): URL {
  const parsed = new URL(url);
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:' && http.allowInsecureLoopback && isLoopback(parsed.hostname)) return parsed;
  throw new InsecureRequestError(
    `Refusing to send credentials to ${parsed.protocol}//${parsed.host}: only https is allowed (plain http only to loopback, with the test-only allowInsecureLoopback switch)`,
  );
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

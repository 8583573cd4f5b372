/**
 * When each connection last had a refresh forced by its API answering "expired" (a 401), so that
 * an API that always answers 401 gets at most one such refresh per interval, not one per call.
 * Held by `manager.fetch` (one per manager): no other operation reads it.
 */
export class ForcedRefreshLimit {
  readonly #intervalMs: number;
  readonly #maxRemembered: number;
  /** Connection key → when a refresh was last forced. */
  readonly #forcedAt = new Map<string, number>();

  constructor(intervalMs: number, maxRemembered = 10_000) {
    this.#intervalMs = intervalMs;
    this.#maxRemembered = maxRemembered;
  }

  /** Whether a refresh of `key` may be forced at `now`; when it may, `now` is remembered as its last. */
  take(key: string, now: number): boolean {
    const last = this.#forcedAt.get(key);
    if (last !== undefined && now - last < this.#intervalMs) return false;
    // Bounded whatever the number of connections: forgetting costs at most one extra refresh each.
    if (this.#forcedAt.size > this.#maxRemembered) this.#forcedAt.clear();
    this.#forcedAt.set(key, now);
    return true;
  }
}

/**
 * The clock offsets the harness gave each app process (the clock-offset fault), by pid and time:
 * what the token-expiry invariant may excuse, and nothing more (see docs/reliability.md).
 *
 * A process's clock is skewed in two ways the provider sees. A process whose clock is ahead when
 * it obtains a token (a refresh, or an `upsert` of a new grant) stores an expiry that late in
 * real time: every process reading it from the store hands it out live until then. A process
 * whose clock is behind when it hands a token out sees it live that long after it expired.
 */
export class ClockOffsets {
  /** Per pid: each offset the harness sent it, with when (the process applies it on receipt). */
  readonly #sent = new Map<number, Array<[at: number, offsetMs: number]>>();

  /** The harness just told process `pid` to run its clock `offsetMs` off (0: back to true time). */
  set(pid: number, offsetMs: number): void {
    const list = this.#sent.get(pid) ?? [];
    list.push([Date.now(), offsetMs]);
    this.#sent.set(pid, list);
  }

  /**
   * The least and greatest offsets process `pid` may have run with at some moment within
   * `windowMs` before `at`: the offset in force when that window began and every one sent within
   * it. The window covers what passes between the process reading its clock and the provider
   * seeing the result (a token request in flight, an IPC message not yet received).
   */
  range(pid: number | undefined, at: number, windowMs: number): { min: number; max: number } {
    const sent = pid === undefined ? undefined : this.#sent.get(pid);
    let before = 0;
    const within: number[] = [];
    for (const [when, offsetMs] of sent ?? []) {
      if (when <= at - windowMs) before = offsetMs;
      else if (when <= at) within.push(offsetMs);
    }
    return { min: Math.min(before, ...within), max: Math.max(before, ...within) };
  }

  /**
   * How late after its expiry (ms, by the provider's clock) a token may be handed out fresh by the
   * clocks alone: the issuer's greatest offset (its stored expiry that much later) less the
   * handing-out process's least (its reading that much earlier). Never below 0.
   */
  excusedLateness(
    issuer: { pid: number | undefined; at: number },
    handedOut: { pid: number | undefined; at: number },
    windowMs: number,
  ): number {
    const issued = this.range(issuer.pid, issuer.at, windowMs).max;
    const reading = this.range(handedOut.pid, handedOut.at, windowMs).min;
    return Math.max(0, issued - reading);
  }
}

import { between, pick } from './random.js';
import type { StoreFault } from './stores.js';

export type FaultKind =
  | 'app-kill'
  | 'app-kill-mid-refresh'
  | StoreFault
  | 'token-5xx'
  | 'token-timeout'
  | 'token-stalled-body'
  | 'token-slow'
  | 'receiver-down'
  | 'clock-offset'
  | 'key-rotation';

export interface ScheduledFault {
  /** Seconds from the start of the run. */
  at: number;
  kind: FaultKind;
  /** How long it lasts, in ms (0 for instantaneous ones). */
  ms: number;
  /** The app slot it targets (kills, clock offset). */
  slot: number;
  /** Clock offset in ms, for `clock-offset`. */
  offsetMs: number;
}

/**
 * The whole run's faults, drawn from the seed before it starts (so a seed replays the same
 * schedule): one every 3–8 s from the end of the warm-up to the last 10 % of the run, and one key
 * rotation at a third of it. Slot 0 is never killed: it is the long-lived process whose memory is
 * watched.
 */
export function faultSchedule(
  random: () => number,
  options: { durationS: number; processes: number; storeFaults: StoreFault[]; leaseMs: number },
): ScheduledFault[] {
  const kinds: FaultKind[] = [
    'app-kill',
    'app-kill-mid-refresh',
    ...options.storeFaults,
    ...options.storeFaults,
    'token-5xx',
    'token-timeout',
    'token-stalled-body',
    'token-slow',
    'receiver-down',
    'clock-offset',
  ];
  const faults: ScheduledFault[] = [];
  const warmUp = Math.min(15, options.durationS * 0.1);
  const lastAt = options.durationS * 0.9;
  const otherSlot = () => (options.processes > 1 ? between(random, 1, options.processes - 1) : 0);
  for (let at = warmUp + between(random, 1, 4); at < lastAt; at += between(random, 3, 8)) {
    const kind = pick(random, kinds);
    const ms =
      kind === 'app-kill' || kind === 'app-kill-mid-refresh' || kind === 'postgres-connections-dropped'
        ? 0
        : kind === 'clock-offset'
          ? between(random, 10_000, 20_000)
          : kind === 'token-slow'
            ? between(random, 4_000, 8_000)
            : between(random, 1_000, 5_000);
    // ±2 s: within what the refresh margin absorbs (see docs/reliability.md).
    const offsetMs = (random() < 0.5 ? -1 : 1) * between(random, 500, 2_000);
    faults.push({ at, kind, ms, slot: otherSlot(), offsetMs });
  }
  faults.push({ at: Math.max(warmUp, options.durationS / 3), kind: 'key-rotation', ms: 0, slot: 0, offsetMs: 0 });
  return faults.sort((a, b) => a.at - b.at);
}

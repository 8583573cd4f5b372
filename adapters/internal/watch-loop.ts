import type { StopWatching, StoreChange } from '../../src/store/adapter.js';

/** One open change channel (a `LISTEN` connection, a subscriber, a poll). */
export interface ChannelSession {
  /** A round trip on the channel's own connection; rejects when the channel no longer works. */
  ping(): Promise<unknown>;
  /** Ends the channel's connection. */
  close(): Promise<void>;
}

/**
 * Opens one session: resolves once every change committed from then on will reach `changed` (a
 * key, or `undefined` for "anything may have changed"), and calls `lost` when it breaks.
 */
export type OpenChannel = (
  changed: (key: string | undefined) => void,
  lost: (error: unknown) => void,
) => Promise<ChannelSession>;

/** How often the channel proves it works, and how fast it reconnects. */
export interface WatchTiming {
  /** A ping this often; one that fails or takes longer counts as a lost channel. */
  heartbeatMs: number;
  /** First wait before reconnecting; doubles per failed attempt up to `maxRetryMs`. */
  retryMs: number;
  maxRetryMs: number;
}

export const defaultWatchTiming: WatchTiming = { heartbeatMs: 5000, retryMs: 100, maxRetryMs: 5000 };

/**
 * `StorageAdapter.watch` over a channel that can break: reports `up` when a session opens,
 * `down` when it breaks (or cannot be opened) and reconnects with back-off until stopped. A
 * silent channel (a half-open socket, a partition) is found by the heartbeat, so `down` comes
 * at most `2 × heartbeatMs` after the channel stopped working.
 */
export function keepWatching(
  open: OpenChannel,
  listener: (change: StoreChange) => void,
  timing: WatchTiming = defaultWatchTiming,
): StopWatching {
  let stopped = false;
  let session: ChannelSession | undefined;
  /** Bumped per session, so a late report of an old one changes nothing. */
  let generation = 0;
  let retryMs = timing.retryMs;
  let retryTimer: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;

  const tell = (change: StoreChange) => {
    if (stopped) return;
    try {
      listener(change);
    } catch {
      // The contract says the listener does not throw; one that does must not stop the channel.
    }
  };

  const lose = (of: number, error: unknown) => {
    if (stopped || of !== generation) return;
    generation++;
    clearInterval(heartbeat);
    const broken = session;
    session = undefined;
    broken?.close().catch(() => {});
    tell({ type: 'down', error });
    retryTimer = setTimeout(connect, retryMs);
    retryTimer.unref?.();
    retryMs = Math.min(retryMs * 2, timing.maxRetryMs);
  };

  const connect = () => {
    if (stopped) return;
    const mine = ++generation;
    open(
      (key) => {
        if (mine === generation) tell({ type: 'changed', ...(key !== undefined && { key }) });
      },
      (error) => lose(mine, error),
    ).then(
      (opened) => {
        if (stopped || mine !== generation) {
          opened.close().catch(() => {});
          return;
        }
        session = opened;
        retryMs = timing.retryMs;
        tell({ type: 'up' });
        heartbeat = setInterval(() => {
          withTimeout(opened.ping(), timing.heartbeatMs).catch((error: unknown) => lose(mine, error));
        }, timing.heartbeatMs);
        heartbeat.unref?.();
      },
      // Never opened: still down, and tried again later.
      (error: unknown) => lose(mine, error),
    );
  };

  connect();
  return async () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(retryTimer);
    clearInterval(heartbeat);
    await session?.close().catch(() => {});
    session = undefined;
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

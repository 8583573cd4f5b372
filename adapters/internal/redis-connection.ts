import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { Logger } from '../../src/model/connection.js';
import { StorageError } from '../../src/model/errors.js';
import { loadDriver } from '../../src/store/optional-driver.js';
import type { Script } from './redis-scripts.js';

/** What the driver answers to a raw command (RESP2: text, integers, arrays, `null`). */
export type Reply = string | number | null | Reply[];

/** The parts of `@redis/client`'s client this store uses. */
interface RedisClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  destroy(): void;
  sendCommand(args: string[]): Promise<unknown>;
}

interface Driver {
  client: RedisClient;
  /** Keyv's store on the same client, for plain reads. */
  keyv: { get(key: string): Promise<string | undefined> };
  /** Closes the connection once pending replies are in (`QUIT`). */
  disconnect(): Promise<void>;
}

/** What the connection needs from the store's options. */
export interface RedisConnectionOptions {
  url: string;
  tls?: Pick<TlsConnectionOptions, 'ca' | 'cert' | 'key' | 'servername' | 'rejectUnauthorized'>;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  logger?: Pick<Logger, 'warn'>;
  /** Receives failures nobody awaits (the outage that took the connection down, a persistence warning). */
  report: (error: unknown) => void;
}

/** One connection to the server, opened on demand: what the store's operations send through. */
export interface RedisConnection {
  /** Runs one command. */
  send(args: string[]): Promise<Reply>;
  /** Runs a script by its hash, sending its source once when the server does not have it. */
  evalScript(script: Script, args: string[]): Promise<Reply>;
  /** Reads a plain value through Keyv's store. */
  get(key: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/** The redis URL with any password taken out, for messages. */
export function redactedUrl(url: string): string {
  return url.replace(/\/\/[^/@\s]*@/g, '//***@');
}

/** An error with a driver-style `code`, which the store classifies (ETIMEDOUT is transient). */
function codedError(message: string, code: string, cause?: unknown): Error {
  return Object.assign(new Error(message, { cause }), { code });
}

/**
 * Connections are opened on first use and again after a failure: a call made while the server is
 * unreachable fails at once (never queued, never hanging past `commandTimeoutMs`), and the first
 * call once it is back works.
 */
export function redisConnection(options: RedisConnectionOptions): RedisConnection {
  const { url, connectTimeoutMs, commandTimeoutMs, report } = options;
  const secure = url.startsWith('rediss://');
  let closed = false;
  let driver: Promise<Driver> | undefined;
  let loaded: Driver | undefined;
  let connecting: Promise<void> | undefined;
  /** The error that took the connection down, reported once rather than per failed attempt. */
  let outageReported = false;
  let persistenceChecked = false;

  const load = () =>
    (driver ??= loadDriver(() => import('@keyv/redis'), 'redis', '@keyv/redis').then(
      ({ default: KeyvRedis, createClient }) => {
        const client = createClient({
          url,
          socket: {
            connectTimeout: connectTimeoutMs,
            // Reconnection is on demand (see `connected`): no background retry loop, no queue.
            reconnectStrategy: false,
            ...(secure ? { tls: true as const, ...options.tls } : {}),
          },
          // A command sent while disconnected fails at once instead of waiting for a reconnect.
          disableOfflineQueue: true,
        });
        // Keyv's store takes the client as is; it forwards the client's errors as its own.
        const keyv = new KeyvRedis<string>(client, { throwOnErrors: true, throwOnConnectError: true });
        keyv.on('error', (error: unknown) => {
          if (closed || outageReported) return;
          outageReported = true;
          report(error);
        });
        return { client: client as unknown as RedisClient, keyv, disconnect: () => keyv.disconnect() };
      },
    )).then(
      (ready) => (loaded = ready),
      (error: unknown) => {
        driver = undefined;
        throw error;
      },
    );

  /** Closes the connection at once, failing its pending commands; a closed one is left alone. */
  const drop = (d: Driver) => {
    try {
      if (d.client.isOpen) d.client.destroy();
    } catch {
      // Already closed by the driver in the meantime.
    }
  };

  /** Opens the connection if it is not open: one attempt shared by the calls that wait for it. */
  const connected = async (): Promise<Driver> => {
    if (closed) throw new StorageError('The redis store is closed', { transient: false });
    const d = loaded ?? (await load());
    if (d.client.isReady) return d;
    if (!d.client.isOpen) {
      connecting ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            d.client.connect(),
            new Promise((_, reject) => {
              timer = setTimeout(() => {
                drop(d);
                reject(
                  codedError(`Redis at ${redactedUrl(url)} did not answer within ${connectTimeoutMs} ms`, 'ETIMEDOUT'),
                );
              }, connectTimeoutMs);
            }),
          ]);
        } finally {
          clearTimeout(timer);
          connecting = undefined;
        }
        outageReported = false;
        if (!persistenceChecked) {
          persistenceChecked = true;
          // Nobody awaits this check: a logger or listener that throws must not become an
          // unhandled rejection in the host.
          checkPersistence(d).catch((error: unknown) => {
            try {
              report(error);
            } catch {
              // The error path itself failed; there is nowhere left to say so.
            }
          });
        }
      })();
    }
    if (connecting) await connecting;
    if (!d.client.isReady) {
      throw codedError(`Redis at ${redactedUrl(url)} is not connected`, 'ECONNRESET');
    }
    return d;
  };

  /** Warns once when the server keeps no append-only file; tolerates CONFIG being disabled or renamed. */
  const checkPersistence = async (d: Driver) => {
    let settings: Reply;
    try {
      settings = (await bounded(d, d.client.sendCommand(['CONFIG', 'GET', 'append*']))) as Reply;
    } catch {
      return; // Managed services often disable CONFIG; nothing to tell then.
    }
    const values = new Map<string, string>();
    if (Array.isArray(settings)) {
      for (let i = 0; i + 1 < settings.length; i += 2) values.set(String(settings[i]), String(settings[i + 1]));
    }
    const appendOnly = values.get('appendonly');
    const fsync = values.get('appendfsync');
    let problem: string | undefined;
    if (appendOnly === 'no') problem = 'persistence is off (appendonly no)';
    else if (appendOnly === 'yes' && fsync === 'no') problem = 'the append-only file is not synced (appendfsync no)';
    if (!problem) return;
    const message =
      `latchkey: the Redis server at ${redactedUrl(url)}: ${problem}. A crash or restart can lose ` +
      'rotated refresh tokens, and with them the connections; set appendonly yes and appendfsync everysec (or always)';
    if (options.logger) options.logger.warn(message, { adapter: 'redis' });
    else report(codedError(message, 'REDIS_NOT_PERSISTENT'));
  };

  /**
   * `command`, failing with ETIMEDOUT when no answer comes within `commandTimeoutMs`.
   * `@redis/client`'s own command timeout only covers the wait to be written, not the reply. A
   * connection that stopped answering (a paused or partitioned server, a half-open socket) is
   * dropped then, failing its other commands too, and the next call opens a new one.
   */
  const bounded = <T>(d: Driver, command: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(codedError(`Redis did not answer within ${commandTimeoutMs} ms`, 'ETIMEDOUT'));
        // After the rejection, so the race reports the timeout rather than the dropped connection.
        drop(d);
      }, commandTimeoutMs);
    });
    return Promise.race([command, timeout]).finally(() => clearTimeout(timer));
  };
  /** Runs one command: straight to the client once connected. */
  const send = async (args: string[]): Promise<Reply> => {
    const d = loaded?.client.isReady ? loaded : await connected();
    return (await bounded(d, d.client.sendCommand(args))) as Reply;
  };

  return {
    send,
    async evalScript(s, args) {
      try {
        return await send(['EVALSHA', s.sha, '0', ...args]);
      } catch (error) {
        // A restarted server (or SCRIPT FLUSH) has forgotten the script: send it in full once.
        if (!String((error as Error | undefined)?.message).startsWith('NOSCRIPT')) throw error;
        return send(['EVAL', s.source, '0', ...args]);
      }
    },
    async get(key) {
      const d = loaded?.client.isReady ? loaded : await connected();
      return bounded(d, d.keyv.get(key));
    },
    async close() {
      if (closed) return;
      closed = true;
      const d = loaded ?? (driver ? await driver.catch(() => undefined) : undefined);
      if (!d?.client.isOpen) return;
      // Pending commands get their answers first, for at most a command timeout.
      if (d.client.isReady) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          d.disconnect().catch(() => {}),
          new Promise((resolve) => (timer = setTimeout(resolve, commandTimeoutMs))),
        ]);
        clearTimeout(timer);
      }
      drop(d);
    },
  };
}

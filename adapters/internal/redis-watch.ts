import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { loadDriver } from '../../src/store/optional-driver.js';
import type { OpenChannel } from './watch-loop.js';

/** The parts of `@redis/client`'s client a subscriber uses. */
interface Subscriber {
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  sendCommand(args: string[]): Promise<unknown>;
  destroy(): void;
  on(event: 'error' | 'end', listener: (error?: unknown) => void): unknown;
}

/** What the subscriber needs from the store's options. */
export interface RedisChannelOptions {
  url: string;
  tls?: Pick<TlsConnectionOptions, 'ca' | 'cert' | 'key' | 'servername' | 'rejectUnauthorized'>;
  connectTimeoutMs: number;
  /** The channel the store's scripts publish each changed key on (`<prefix>changes`). */
  channel: string;
}

/**
 * A dedicated subscriber connection (a connection in pub/sub mode can send nothing else). It is
 * named `latchkey-watch-<pid>` (`CLIENT SETNAME`), so `CLIENT LIST` shows whose it is. It never
 * reconnects on its own: the watch loop opens a new one, reporting `down` in between.
 */
export function redisChannel(options: RedisChannelOptions): OpenChannel {
  const secure = options.url.startsWith('rediss://');
  return async (changed, lost) => {
    const { createClient } = await loadDriver(() => import('@keyv/redis'), 'redis', '@keyv/redis');
    const client = createClient({
      url: options.url,
      name: `latchkey-watch-${process.pid}`,
      socket: {
        connectTimeout: options.connectTimeoutMs,
        reconnectStrategy: false,
        ...(secure ? { tls: true as const, ...options.tls } : {}),
      },
      disableOfflineQueue: true,
    }) as unknown as Subscriber;
    client.on('error', (error) => lost(error ?? new Error('the subscriber connection failed')));
    client.on('end', () => lost(new Error('the subscriber connection ended')));
    const close = async () => {
      try {
        client.destroy();
      } catch {
        // Already closed.
      }
    };
    try {
      await client.connect();
      // Resolves once the server confirmed the subscription: every publish after it arrives.
      await client.subscribe(options.channel, (key) => changed(key));
    } catch (error) {
      await close();
      throw error;
    }
    return { ping: () => client.sendCommand(['PING']), close };
  };
}

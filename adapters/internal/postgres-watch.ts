import type { OpenChannel } from './watch-loop.js';

/**
 * The channel a table's writes are announced on: `pg_notify` in the same statement as each write
 * (so it is sent on commit, and never for a write that rolled back), named after the table. Table
 * names are plain identifiers of at most 63 characters and a channel may have 63 too, so a long
 * name is cut: two tables whose names share their first 55 characters hear each other's changes,
 * which costs a few needless re-reads and nothing else.
 */
export function changeChannel(table: string): string {
  return `${table.slice(0, 55)}_changes`;
}

/** The parts of `pg`'s `Client` the channel uses. */
interface ListenClient {
  connect(): Promise<unknown>;
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'notification', listener: (message: { channel: string; payload?: string }) => void): unknown;
  on(event: 'error' | 'end', listener: (error?: unknown) => void): unknown;
}

/**
 * A dedicated connection (never one of the pool's) that `LISTEN`s on the table's channel. Its
 * `application_name` is `latchkey-watch-<pid>`, so an operator (or a test) can find it in
 * `pg_stat_activity`.
 */
export function postgresChannel(createClient: () => Promise<ListenClient>, table: string): OpenChannel {
  const channel = changeChannel(table);
  return async (changed, lost) => {
    const client = await createClient();
    client.on('error', (error) => lost(error ?? new Error('the LISTEN connection failed')));
    client.on('end', () => lost(new Error('the LISTEN connection ended')));
    client.on('notification', (message) => {
      if (message.channel === channel) changed(message.payload);
    });
    try {
      await client.connect();
      // Quoted: the channel keeps the table name's case, as pg_notify's text argument does.
      await client.query(`LISTEN "${channel}"`);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    return {
      ping: () => client.query('SELECT 1'),
      close: () => client.end().catch(() => {}),
    };
  };
}

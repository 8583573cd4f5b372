import { createHash } from 'node:crypto';
import * as v from 'valibot';
import type { ClaimResult, ConnectOutcome } from '../model/connect-session.js';
import type { Shape, Versioned, VersionedStore } from './versioned-store.js';

const PREFIX = 'ws_client:';

/** What a browser's socket learns at the end of its flow (Nango's WebSocket messages, less the ack). */
export const ConnectOutcomeSchema: v.GenericSchema<unknown, ConnectOutcome> = v.union([
  v.strictObject({
    message_type: v.literal('success'),
    provider_config_key: v.string(),
    connection_id: v.string(),
    is_pending: v.boolean(),
  }),
  v.strictObject({
    message_type: v.literal('error'),
    provider_config_key: v.optional(v.string()),
    connection_id: v.optional(v.string()),
    error_type: v.string(),
    error_desc: v.string(),
  }),
]);

/**
 * One browser socket, as every process sharing the store sees it: the session that claimed it
 * (by the hash of its token) and, once the flow ends, its outcome for the socket's owner to send.
 */
const StoredClientSchema = v.strictObject({
  expiresAt: v.number(),
  session: v.optional(v.string()),
  outcome: v.optional(ConnectOutcomeSchema),
});

type StoredClient = v.InferOutput<typeof StoredClientSchema>;

const shape: Shape<StoredClient> = {
  is: (data): data is StoredClient => v.is(StoredClientSchema, data),
  problem: (data) => v.safeParse(StoredClientSchema, data).issues?.[0]?.message ?? 'unknown',
};

/** How long a socket's record lives: longer than a session (30 minutes) and its flow may last. */
export const WS_CLIENT_LIFETIME_MS = 45 * 60_000;

/**
 * The WebSocket clients of connect flows, in the connection store, so the process that finishes a
 * flow (the callback may land on any instance) hands its outcome to the process holding the
 * socket. The first session whose flow names a client claims it; no other session's flow may
 * report to it, so a page cannot steer someone else's popup into its own socket. Records hold no
 * secret: a client id, a token hash, and what the browser is told anyway.
 */
export class ConnectOutcomes {
  readonly #store: VersionedStore;

  constructor(store: VersionedStore) {
    this.#store = store;
  }

  /** Records a freshly opened socket. */
  async register(clientId: string, now: number): Promise<void> {
    await this.#store.insert(PREFIX + clientId, { expiresAt: now + WS_CLIENT_LIFETIME_MS } satisfies StoredClient, {
      ttlMs: WS_CLIENT_LIFETIME_MS,
    });
  }

  /** Binds the socket to the session behind `sessionToken` (first claim wins). */
  async claim(clientId: string, sessionToken: string, now: number): Promise<ClaimResult> {
    const session = digest(sessionToken);
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await this.#read(clientId, now);
      if (!stored || stored.value.outcome) return 'unknown';
      if (stored.value.session !== undefined) return stored.value.session === session ? 'claimed' : 'foreign';
      if (await this.#store.replace(PREFIX + clientId, stored, { ...stored.value, session })) return 'claimed';
    }
    return 'unknown';
  }

  /**
   * Hands `outcome` to the socket, if it is still open and (given `sessionToken`) that session's;
   * whether it was handed over.
   */
  async publish(clientId: string, outcome: ConnectOutcome, now: number, sessionToken?: string): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await this.#read(clientId, now);
      if (!stored || stored.value.outcome) return false;
      if (sessionToken !== undefined && stored.value.session !== digest(sessionToken)) return false;
      if (await this.#store.replace(PREFIX + clientId, stored, { ...stored.value, outcome })) return true;
    }
    return false;
  }

  /** The socket's outcome, once there is one; the record is removed with it. */
  async take(clientId: string, now: number): Promise<ConnectOutcome | undefined> {
    const stored = await this.#read(clientId, now);
    if (!stored?.value.outcome) return undefined;
    await this.#store.remove(PREFIX + clientId, stored);
    return stored.value.outcome;
  }

  /** Forgets a closed socket. */
  async forget(clientId: string, now: number): Promise<void> {
    const stored = await this.#read(clientId, now);
    if (stored) await this.#store.remove(PREFIX + clientId, stored);
  }

  async #read(clientId: string, now: number): Promise<Versioned<StoredClient> | undefined> {
    if (!WS_CLIENT_ID.test(clientId)) return undefined;
    const stored = await this.#store.read(PREFIX + clientId, shape);
    return stored && stored.value.expiresAt > now ? stored : undefined;
  }
}

/** A client id as this server issues them (a UUID). */
export const WS_CLIENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

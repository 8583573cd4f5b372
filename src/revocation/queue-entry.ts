/** A revocation waiting for a retry, as stored, and its shape check (see store/versioned-store.ts `Shape`). */
import { randomUUID } from 'node:crypto';
import * as v from 'valibot';
import { AUTH_MODES } from '../model/auth-modes.js';
import type { Shape } from '../store/versioned-store.js';

/** Every queued revocation's key starts with this; the creation time and the id follow. */
export const REVOCATION_PREFIX = 'revocation:';

/** What a retry needs that is secret or per connection: the tokens, the connection's client override, its config. */
const Grant = v.object({
  access_token: v.optional(v.string()),
  refresh_token: v.optional(v.string()),
  client_id: v.optional(v.string()),
  client_secret: v.optional(v.string()),
  connection_config: v.optional(v.record(v.string(), v.unknown())),
});

const EntrySchema = v.object({
  /** Constant across attempts: names the entry in logs and its lease. */
  id: v.string(),
  connectionId: v.string(),
  providerConfigKey: v.string(),
  provider: v.string(),
  authMode: v.picklist(AUTH_MODES),
  /** The grant sealed by the record cipher (keyed by the entry's key), or in the clear without a key. */
  sealed: v.optional(v.string()),
  grant: v.optional(Grant),
  /** Epoch ms, the manager's clock. */
  createdAt: v.number(),
  /** Failed attempts so far, the one during `delete` included. */
  attempts: v.number(),
  /** No process attempts it again before this (the manager's clock): the back-off lives in the store. */
  nextAttemptAt: v.number(),
  /** Why the last attempt failed (`network_error`, `server_error`…): never a token. */
  lastError: v.optional(v.string()),
});

export type RevocationEntry = v.InferOutput<typeof EntrySchema>;

/** The grant a revocation ends, sealed in the entry. */
export type QueuedGrant = v.InferOutput<typeof Grant>;

export const GrantSchema = Grant;

export const revocationEntryShape: Shape<RevocationEntry> = {
  is: (data): data is RevocationEntry => v.is(EntrySchema, data),
  problem: (data) => {
    const issue = v.safeParse(EntrySchema, data).issues?.[0];
    return issue ? (v.getDotPath(issue) ?? 'not an object') : 'unknown';
  },
};

/** A new entry's key and id; keys sort by creation time, so older revocations are retried first. */
export function newEntryKey(now: number): { key: string; id: string } {
  const id = randomUUID();
  return { key: `${REVOCATION_PREFIX}${String(now).padStart(15, '0')}:${id}`, id };
}

/** Delay before the next attempt after `attempts` failures: doubling from 30 s, at most 6 hours, jittered. */
export function revocationRetryDelayMs(attempts: number, random: () => number = Math.random): number {
  const capped = Math.min(6 * 3_600_000, 30_000 * 2 ** Math.max(0, attempts - 1));
  return Math.round(capped * (0.5 + random() * 0.5));
}

/** Attempts in all (the first, in `delete`, included) before a revocation is given up and reported. */
export const MAX_REVOCATION_ATTEMPTS = 20;

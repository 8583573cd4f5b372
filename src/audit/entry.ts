import * as crypto from 'node:crypto';

/** What an audit entry records: a credential read, a change of a connection, or a key rotation. */
export type AuditAction =
  'read' | 'fetch' | 'sign' | 'create' | 'upsert' | 'update' | 'delete' | 'refresh' | 'revoke' | 'rotate-key';

/**
 * One entry of the audit trail. It names who did what to which connection, when, and how it
 * ended — never a credential, a metadata value or an error message (only the error's stable code).
 */
export interface AuditEntry {
  /** Position in the trail, from 1, without gaps. */
  seq: number;
  /** When the operation ended (the manager's clock), ISO 8601. */
  at: string;
  /** The API key's name for HTTP calls, the actor given to `withActor`, or the manager's default. */
  actor: string;
  /** What was done. */
  action: AuditAction;
  /** The connection's integration, when the call named a connection. */
  providerConfigKey?: string;
  /** The connection, when the call named one. */
  connectionId?: string;
  /** Whether the operation succeeded. */
  outcome: 'ok' | 'error';
  /** The error's stable code when `outcome` is `error`. */
  code?: string;
  /** The previous entry's `hash` (64 zeros before the first). */
  prev: string;
  /** SHA-256 (hex) of `prev` and this entry's canonical form. */
  hash: string;
}

/**
 * An entry as recorded on the hot path: one plain object of a fixed shape (absent fields are
 * `undefined`, never left out), the time as a number. Formatting and hashing wait for the batch.
 */
export interface PendingAuditEntry {
  at: number;
  actor: string;
  action: AuditAction;
  providerConfigKey: string | undefined;
  connectionId: string | undefined;
  outcome: 'ok' | 'error';
  code: string | undefined;
}

/**
 * An entry as stored: the time in epoch milliseconds, and no `prev` (it is the batch's `prev` for
 * the first entry, and the entry before's `hash` for the others: storing it again only grows the record).
 */
export interface StoredAuditEntry {
  seq: number;
  at: number;
  actor: string;
  action: AuditAction;
  providerConfigKey?: string | undefined;
  connectionId?: string | undefined;
  outcome: 'ok' | 'error';
  code?: string | undefined;
  hash: string;
}

/** A stored batch: the hash its first entry chains to, and its entries in order. */
export interface StoredAuditBatch {
  prev: string;
  entries: StoredAuditEntry[];
}

/** The `prev` of the first entry ever written. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The text the hash covers: `prev` and the fields in a fixed order, every free-text field
 * prefixed by its length (an absent one by `-`), so no field can be shifted into its neighbour
 * and an absent field differs from an empty one. A template string rather than JSON: this runs
 * once per entry written, and JSON's escaping is several times its cost.
 */
function canonical(entry: Omit<StoredAuditEntry, 'hash'>, prev: string): string {
  return `${prev}|${entry.seq}|${entry.at}|${text(entry.actor)}|${entry.action}|${text(entry.providerConfigKey)}|${text(entry.connectionId)}|${entry.outcome}|${text(entry.code)}`;
}

function text(value: string | undefined): string {
  return value === undefined ? '-' : `${value.length}:${value}`;
}

// One-shot `crypto.hash` (Node 20.12 and later) is several times cheaper than a Hash object per entry.
const sha256: (data: string) => string =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'hex')
    : (data) => crypto.createHash('sha256').update(data).digest('hex');

/** The hash an entry must carry: SHA-256 over `prev` and its canonical form. */
export function entryHash(entry: Omit<StoredAuditEntry, 'hash'>, prev: string): string {
  return sha256(canonical(entry, prev));
}

/** Places pending entries in the chain after `prev`, the first at `seq`. */
export function chainEntries(pending: readonly PendingAuditEntry[], seq: number, prev: string): StoredAuditBatch {
  const entries: StoredAuditEntry[] = new Array<StoredAuditEntry>(pending.length);
  let previous = prev;
  for (let index = 0; index < pending.length; index++) {
    const entry = pending[index]!;
    // The stored key order is the one this format has always had (tools that read it may rely on it).
    const placed: StoredAuditEntry = {
      at: entry.at,
      actor: entry.actor,
      action: entry.action,
      outcome: entry.outcome,
      providerConfigKey: entry.providerConfigKey,
      connectionId: entry.connectionId,
      code: entry.code,
      seq: seq + index,
      hash: '',
    };
    placed.hash = entryHash(placed, previous);
    entries[index] = placed;
    previous = placed.hash;
  }
  return { prev, entries };
}

/** A stored batch's entries as readers see them: the time in ISO 8601, each with its `prev`. */
export function readableEntries(batch: StoredAuditBatch): AuditEntry[] {
  let prev = batch.prev;
  return batch.entries.map((stored) => {
    const entry: AuditEntry = {
      seq: stored.seq,
      at: new Date(stored.at).toISOString(),
      actor: stored.actor,
      action: stored.action,
      outcome: stored.outcome,
      prev,
      hash: stored.hash,
    };
    if (stored.providerConfigKey !== undefined) entry.providerConfigKey = stored.providerConfigKey;
    if (stored.connectionId !== undefined) entry.connectionId = stored.connectionId;
    if (stored.code !== undefined) entry.code = stored.code;
    prev = stored.hash;
    return entry;
  });
}

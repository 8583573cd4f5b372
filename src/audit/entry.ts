import { createHash } from 'node:crypto';

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

/** An entry as recorded, before it has a place in the chain. */
export type PendingAuditEntry = Omit<AuditEntry, 'seq' | 'prev' | 'hash'>;

/** The `prev` of the first entry ever written. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The text the hash covers: the fields in a fixed order as a JSON array, so that no serializer's
 * key order, spacing or escaping can change it, and an absent field differs from an empty one.
 */
function canonical(entry: Omit<AuditEntry, 'hash'>): string {
  return JSON.stringify([
    entry.seq,
    entry.at,
    entry.actor,
    entry.action,
    entry.providerConfigKey ?? null,
    entry.connectionId ?? null,
    entry.outcome,
    entry.code ?? null,
    entry.prev,
  ]);
}

/** The hash an entry must carry: SHA-256 over its canonical form, which includes `prev`. */
export function entryHash(entry: Omit<AuditEntry, 'hash'>): string {
  return createHash('sha256').update(canonical(entry)).digest('hex');
}

/** Places pending entries in the chain after `prev`, the first at `seq`. */
export function chainEntries(pending: readonly PendingAuditEntry[], seq: number, prev: string): AuditEntry[] {
  const chained: AuditEntry[] = [];
  let previous = prev;
  for (const [index, entry] of pending.entries()) {
    const placed = { ...entry, seq: seq + index, prev: previous };
    const hash = entryHash(placed);
    chained.push({ ...placed, hash });
    previous = hash;
  }
  return chained;
}

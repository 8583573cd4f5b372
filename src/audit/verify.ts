/**
 * Reading the trail back: `verifyAuditTrail` walks the chain from its start (or the retention
 * anchor) and reports the first entry that is missing, out of place, edited or unreadable;
 * `readAuditTrail` yields the entries in chain order for `latchkey audit list`.
 */
import type { StorageAdapter } from '../store/adapter.js';
import { type AuditEntry, entryHash, GENESIS_HASH, readableEntries } from './entry.js';
import { ANCHOR_KEY, BATCH_PREFIX, batchKey, type Mark, parseBatch, parseMark, TAIL_KEY } from './records.js';

/** What {@link verifyAuditTrail} found. */
export interface AuditVerification {
  /** Whether every link holds. */
  ok: boolean;
  /** Entries checked. */
  entries: number;
  /** The seq the checked chain starts at (after retention, the anchor's). */
  first: number;
  /** The hash of the last entry checked: note it elsewhere to detect a truncated or rewritten trail later. */
  head: string;
  /** The first entry that fails, and why. */
  broken?: { seq: number; reason: string };
}

const PAGE = 200;

/**
 * Checks every link of the audit trail stored in `store`: the first entry that is missing, out of
 * place, edited or unreadable is `broken`. Reads only.
 *
 * @example
 * ```ts
 * const result = await verifyAuditTrail(store);
 * if (!result.ok) console.error(`audit trail broken at entry ${result.broken?.seq}: ${result.broken?.reason}`);
 * ```
 */
export async function verifyAuditTrail(store: Pick<StorageAdapter, 'get' | 'scan'>): Promise<AuditVerification> {
  const anchorText = await store.get(ANCHOR_KEY);
  const anchor = parseMark(anchorText);
  const first = anchor?.seq ?? 1;
  let expected = first;
  let prev = anchor?.hash ?? GENESIS_HASH;
  const result = (broken?: { seq: number; reason: string }): AuditVerification => ({
    ok: broken === undefined,
    entries: expected - first,
    first,
    head: prev,
    ...(broken && { broken }),
  });
  if (anchorText !== undefined && anchor === undefined) {
    return result({ seq: first, reason: 'the retention anchor record is malformed' });
  }
  for await (const { key, value } of batches(store, anchor)) {
    const batch = parseBatch(value);
    if (batch === undefined) return result({ seq: expected, reason: `the record ${key} is not a batch of entries` });
    const { entries } = batch;
    if (key !== batchKey(entries[0]!.seq)) {
      return result({ seq: entries[0]!.seq, reason: `it is stored under another position (${key})` });
    }
    // Within a batch each entry chains to the one before it; the first to the batch's `prev`.
    let chainedTo = batch.prev;
    for (const entry of entries) {
      if (entry.seq > expected) {
        return result({ seq: expected, reason: `it is missing (the next stored entry is ${entry.seq})` });
      }
      if (entry.seq < expected) return result({ seq: entry.seq, reason: 'it is stored twice or out of order' });
      if (chainedTo !== prev) return result({ seq: entry.seq, reason: 'it does not chain to the entry before it' });
      if (entryHash(entry, chainedTo) !== entry.hash)
        return result({ seq: entry.seq, reason: 'its content does not match its hash' });
      prev = entry.hash;
      chainedTo = entry.hash;
      expected++;
    }
  }
  // Writers move the tail hint only after their batch is stored: entries up to it existed.
  const tail = parseMark(await store.get(TAIL_KEY));
  if (tail !== undefined && tail.seq >= expected) {
    return result({ seq: expected, reason: `it is missing, with every entry up to ${tail.seq}` });
  }
  return result();
}

/**
 * Every stored entry of the audit trail, from its start (or where retention cut it) in order.
 *
 * @example
 * ```ts
 * for await (const entry of readAuditTrail(store)) {
 *   if (entry.connectionId === 'user-42') console.log(entry.at, entry.actor, entry.action, entry.outcome);
 * }
 * ```
 */
export async function* readAuditTrail(store: Pick<StorageAdapter, 'get' | 'scan'>): AsyncGenerator<AuditEntry> {
  const anchor = parseMark(await store.get(ANCHOR_KEY));
  for await (const { value } of batches(store, anchor)) {
    const batch = parseBatch(value);
    if (batch !== undefined) yield* readableEntries(batch);
  }
}

async function* batches(store: Pick<StorageAdapter, 'get' | 'scan'>, anchor: Mark | undefined) {
  // Batches before the anchor are what an interrupted retention run had yet to delete.
  let after = anchor && anchor.seq > 1 ? batchKey(anchor.seq - 1) : undefined;
  for (;;) {
    const page = await store.scan(BATCH_PREFIX, { ...(after === undefined ? {} : { after }), limit: PAGE });
    yield* page;
    if (page.length < PAGE) return;
    after = page[page.length - 1]!.key;
  }
}

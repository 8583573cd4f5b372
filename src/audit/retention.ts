/**
 * Retention: drops whole batches from the start of the chain once their newest entry is older
 * than the cut-off, never the last batch (writers chain after it). Before deleting anything it
 * writes the anchor — the seq of the first entry kept and the hash that entry chains to — so
 * `verify` starts there and still checks every link that remains. A crash between the anchor and
 * the deletes leaves batches before the anchor, which `verify` ignores and the next run deletes.
 */
import type { StorageAdapter } from '../store/adapter.js';
import type { StoredAuditBatch } from './entry.js';
import { ANCHOR_KEY, BATCH_PREFIX, markText, parseBatch, PRUNE_LOCK } from './records.js';

const PAGE = 200;
const LEASE_MS = 5 * 60 * 1000;

export type PruneStore = Pick<StorageAdapter, 'get' | 'insert' | 'replace' | 'delete' | 'scan' | 'locks'>;

/** Drops batches whose entries are all older than `before` (epoch ms); returns the entries dropped. */
export async function pruneTrail(store: PruneStore, before: number, owner: string): Promise<number> {
  if (!(await store.locks.tryAcquire(PRUNE_LOCK, owner, LEASE_MS))) return 0;
  try {
    const drop: Array<{ key: string; entries: number }> = [];
    /** The first entry kept: its seq, and the hash it chains to. */
    let kept: { seq: number; prev: string } | undefined;
    let after: string | undefined;
    scanning: for (;;) {
      const page = await store.scan(BATCH_PREFIX, { ...(after === undefined ? {} : { after }), limit: PAGE });
      for (const { key, value } of page) {
        const batch = parseBatch(value);
        const newest = batch?.entries[batch.entries.length - 1];
        // Nothing past a record that cannot be read is dropped: verify must still see it.
        if (batch === undefined || newest === undefined || !(newest.at < before)) {
          kept = firstOf(batch);
          break scanning;
        }
        drop.push({ key, entries: batch.entries.length });
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.key;
    }
    if (kept === undefined) {
      // Every batch is old: the last one stays, for writers to chain after.
      const last = drop.pop();
      kept = last && firstOf(parseBatch((await store.get(last.key)) ?? ''));
    }
    if (kept === undefined || drop.length === 0) return 0;
    const anchor = markText({ seq: kept.seq, hash: kept.prev });
    const previous = await store.get(ANCHOR_KEY);
    const moved =
      previous === undefined
        ? await store.insert(ANCHOR_KEY, anchor)
        : await store.replace(ANCHOR_KEY, previous, anchor);
    if (!moved) return 0;
    for (const { key } of drop) await store.delete(key);
    return drop.reduce((sum, batch) => sum + batch.entries, 0);
  } finally {
    await store.locks.release(PRUNE_LOCK, owner);
  }
}

function firstOf(batch: StoredAuditBatch | undefined): { seq: number; prev: string } | undefined {
  const first = batch?.entries[0];
  return batch && first && { seq: first.seq, prev: batch.prev };
}

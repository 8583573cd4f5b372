/**
 * Appends batches to the one chain that every process sharing the store writes. The storage
 * contract has no transaction, so the chain is kept one line by `insert` failing on an existing
 * key: a batch's key is the seq of its first entry, so two writers that saw the same tail race for
 * the same key, exactly one wins, and the loser finds the new tail and chains after it. An entry is
 * never rewritten once stored.
 */
import { StorageError } from '../model/errors.js';
import type { StorageAdapter } from '../store/adapter.js';
import { chainEntries, GENESIS_HASH, type PendingAuditEntry } from './entry.js';
import {
  ANCHOR_KEY,
  BATCH_PREFIX,
  batchKey,
  batchText,
  type Mark,
  markText,
  parseBatch,
  parseMark,
  TAIL_KEY,
} from './records.js';

/** Lost races in a row before a write gives up (each lost race means another writer progressed). */
const MAX_ATTEMPTS = 100;
const SCAN_PAGE = 200;
/**
 * How often the tail hint is moved while writing: it only shortens the scan a new writer makes to
 * find the end, and a write of its own per batch would double what the trail costs the store.
 */
const HINT_EVERY_MS = 10_000;

export type ChainStore = Pick<StorageAdapter, 'get' | 'insert' | 'replace' | 'scan'>;

export class ChainWriter {
  readonly #store: ChainStore;
  /** The last entry this writer knows of: `seq` 0 before the first. */
  #tail: Mark | undefined;
  /** The tail hint's text as this writer last read or wrote it (for compare-and-swap). */
  #hint: string | undefined;
  #hintWrittenAt = Number.NEGATIVE_INFINITY;

  constructor(store: ChainStore) {
    this.#store = store;
  }

  /** Chains `pending` after the trail's last entry and stores them as one record. */
  async append(pending: readonly PendingAuditEntry[]): Promise<void> {
    let tail = this.#tail ?? (await this.#findTail(undefined));
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const batch = chainEntries(pending, tail.seq + 1, tail.hash);
      if (await this.#store.insert(batchKey(tail.seq + 1), batchText(batch))) {
        const last = batch.entries[batch.entries.length - 1]!;
        this.#tail = { seq: last.seq, hash: last.hash };
        if (Date.now() - this.#hintWrittenAt >= HINT_EVERY_MS) await this.syncHint();
        return;
      }
      tail = await this.#findTail(tail);
    }
    throw new StorageError(`the audit trail could not be appended to after ${MAX_ATTEMPTS} attempts`);
  }

  /** The last stored entry, from `from` (or the hint, the anchor, the start) onwards. */
  async #findTail(from: Mark | undefined): Promise<Mark> {
    let tail = from;
    if (tail === undefined) {
      this.#hint = await this.#store.get(TAIL_KEY);
      tail = parseMark(this.#hint);
    }
    if (tail === undefined) {
      const anchor = parseMark(await this.#store.get(ANCHOR_KEY));
      tail = anchor ? { seq: anchor.seq - 1, hash: anchor.hash } : { seq: 0, hash: GENESIS_HASH };
    }
    let after = tail.seq === 0 ? undefined : batchKey(tail.seq);
    for (;;) {
      const page = await this.#store.scan(BATCH_PREFIX, {
        ...(after === undefined ? {} : { after }),
        limit: SCAN_PAGE,
      });
      const last = page[page.length - 1];
      if (last === undefined) return tail;
      const entries = parseBatch(last.value)?.entries;
      const end = entries?.[entries.length - 1];
      if (end === undefined) {
        // Someone edited the store: appending after an unreadable batch would hide it.
        throw new StorageError(`the audit record ${last.key} is malformed; run latchkey audit verify`);
      }
      tail = { seq: end.seq, hash: end.hash };
      after = last.key;
      if (page.length < SCAN_PAGE) return tail;
    }
  }

  /**
   * Moves the hint forward to the last entry this writer stored; a hint another writer moved
   * further is left alone. Done at most every {@link HINT_EVERY_MS} while writing, and at close.
   */
  async syncHint(): Promise<void> {
    const tail = this.#tail;
    if (tail === undefined || this.#hint === markText(tail)) return;
    this.#hintWrittenAt = Date.now();
    const next = markText(tail);
    for (let attempt = 0; attempt < 3; attempt++) {
      const written =
        this.#hint === undefined
          ? await this.#store.insert(TAIL_KEY, next)
          : await this.#store.replace(TAIL_KEY, this.#hint, next);
      if (written) {
        this.#hint = next;
        return;
      }
      this.#hint = await this.#store.get(TAIL_KEY);
      const current = parseMark(this.#hint);
      if (current !== undefined && current.seq >= tail.seq) return;
    }
  }
}

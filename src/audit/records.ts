/**
 * How the trail lies in the store: batches of chained entries, one record each under
 * `audit:batch:<first seq, 16 digits>` (so key order is chain order) holding the hash its first
 * entry chains to and the entries (time in epoch ms, no per-entry `prev`), a tail hint, and the anchor
 * that retention leaves where it cut the start of the chain. Stored text is parsed by schema:
 * a record someone edited into another shape is reported by `verify`, never trusted by a cast.
 */
import * as v from 'valibot';
import type { StoredAuditBatch } from './entry.js';

export const BATCH_PREFIX = 'audit:batch:';
/** Where the last batch was, as its writer last saw it: a starting point for finding the tail. */
export const TAIL_KEY = 'audit:tail';
/** Where the chain starts after retention dropped its oldest batches. */
export const ANCHOR_KEY = 'audit:anchor';
/** The lock one process holds while it applies retention. */
export const PRUNE_LOCK = 'audit:prune';

export function batchKey(seq: number): string {
  return `${BATCH_PREFIX}${String(seq).padStart(16, '0')}`;
}

const Hash = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/));
const Seq = v.pipe(v.number(), v.integer(), v.minValue(1));

/** Epoch milliseconds a `Date` can hold (so reading it back never throws). */
const Instant = v.pipe(v.number(), v.integer(), v.minValue(-8.64e15), v.maxValue(8.64e15));

const EntrySchema = v.strictObject({
  seq: Seq,
  at: Instant,
  actor: v.string(),
  action: v.picklist([
    'read',
    'fetch',
    'sign',
    'create',
    'upsert',
    'update',
    'delete',
    'refresh',
    'revoke',
    'rotate-key',
  ]),
  providerConfigKey: v.optional(v.string()),
  connectionId: v.optional(v.string()),
  outcome: v.picklist(['ok', 'error']),
  code: v.optional(v.string()),
  hash: Hash,
});

const BatchSchema = v.strictObject({ prev: Hash, entries: v.pipe(v.array(EntrySchema), v.minLength(1)) });

/** The tail hint and the anchor: a position in the chain and the hash that ends before it. */
const MarkSchema = v.strictObject({ seq: Seq, hash: Hash });
export type Mark = v.InferOutput<typeof MarkSchema>;

/** A batch, or `undefined` when the text is not one. */
export function parseBatch(text: string): StoredAuditBatch | undefined {
  const parsed = v.safeParse(BatchSchema, safeJson(text));
  return parsed.success ? parsed.output : undefined;
}

export function batchText(batch: StoredAuditBatch): string {
  return JSON.stringify({ prev: batch.prev, entries: batch.entries });
}

/** A mark, or `undefined` when absent or not one. */
export function parseMark(text: string | undefined): Mark | undefined {
  if (text === undefined) return undefined;
  const parsed = v.safeParse(MarkSchema, safeJson(text));
  return parsed.success ? parsed.output : undefined;
}

export function markText(mark: Mark): string {
  return JSON.stringify({ seq: mark.seq, hash: mark.hash });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

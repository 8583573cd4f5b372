import { audited } from '../audit/trail.js';
import { EncryptionRequiredError } from '../model/errors.js';
import type { OperationContext } from './context.js';

/** Options of `manager.rotateEncryptionKey`. */
export interface RotateEncryptionKeyOptions {
  /** Records rewritten concurrently. Default 100. */
  batchSize?: number;
  /** Called after each batch with the records handled so far (for a progress bar); an error it throws is logged. */
  onProgress?: (progress: { done: number }) => void;
}

/**
 * `manager.rotateEncryptionKey`: rewrites every connection sealed under an older key (or stored in
 * the clear) under the current key, `batchSize` at a time. A record a concurrent write changed is
 * re-read and retried until it is under the current key. `rewritten`: rewritten by this call;
 * `unchanged`: already under the current key; `contended`: records that needed more than one
 * attempt (counted in one of the other two as well).
 */
export async function rotateEncryptionKey(
  ctx: Pick<OperationContext, 'cipher' | 'connections' | 'logger' | 'audit'>,
  options: RotateEncryptionKeyOptions,
): Promise<{ rewritten: number; unchanged: number; contended: number }> {
  return audited(ctx.audit, 'rotate-key', {}, () => rotate(ctx, options));
}

async function rotate(
  ctx: Pick<OperationContext, 'cipher' | 'connections' | 'logger'>,
  options: RotateEncryptionKeyOptions,
): Promise<{ rewritten: number; unchanged: number; contended: number }> {
  if (!ctx.cipher) throw new EncryptionRequiredError('rotateEncryptionKey needs encryptionKey');
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 100));
  let rewritten = 0;
  let unchanged = 0;
  let contended = 0;
  let done = 0;
  let batch: string[] = [];
  const flush = async () => {
    const results = await Promise.all(batch.map((key) => ctx.connections.reseal(key)));
    rewritten += results.filter((r) => r.outcome === 'rewritten').length;
    unchanged += results.filter((r) => r.outcome === 'current').length;
    contended += results.filter((r) => r.contended > 0).length;
    done += batch.length;
    batch = [];
    if (results.length === 0) return;
    try {
      options.onProgress?.({ done });
    } catch (error) {
      // A broken progress display must not stop a rotation halfway.
      ctx.logger.warn('latchkey: a rotateEncryptionKey onProgress callback threw', { error: (error as Error).message });
    }
  };
  for await (const [key] of ctx.connections.entries()) {
    batch.push(key);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return { rewritten, unchanged, contended };
}

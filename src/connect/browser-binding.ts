import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * A connect flow can be bound to the browser that started it: the flow stores only this hash of
 * the binding (a nonce the browser keeps in a cookie), never the binding itself.
 */
export function bindingHash(binding: string): string {
  return createHash('sha256').update(binding, 'utf8').digest('hex');
}

/** Constant-time comparison of a stored binding hash with the hash of what the browser presented. */
export function sameBinding(stored: string, presented: string | undefined): boolean {
  if (typeof presented !== 'string' || presented === '') return false;
  const expected = Buffer.from(stored, 'hex');
  const actual = Buffer.from(bindingHash(presented), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

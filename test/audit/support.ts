/** What the audit tests share: reading every stored audit record, and every encoding a secret could leak in. */
import type { StorageAdapter } from '../../src/adapter.js';
import { type AuditEntry, readAuditTrail } from '../../src/index.js';

/** Every audit record's stored text (batches, the tail hint, the anchor). */
export async function auditTexts(store: Pick<StorageAdapter, 'scan'>): Promise<string[]> {
  const texts: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.scan('audit:', { ...(after === undefined ? {} : { after }), limit: 500 });
    texts.push(...page.map((entry) => `${entry.key}\n${entry.value}`));
    if (page.length < 500) return texts;
    after = page[page.length - 1]!.key;
  }
}

export async function allEntries(store: Pick<StorageAdapter, 'get' | 'scan'>): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for await (const entry of readAuditTrail(store)) entries.push(entry);
  return entries;
}

/** A secret as it could appear in stored text: as is, base64, base64url, hex, JSON-escaped, URL-encoded. */
export function encodings(secret: string): string[] {
  const bytes = Buffer.from(secret);
  return [
    secret,
    bytes.toString('base64'),
    bytes.toString('base64').replace(/=+$/, ''),
    bytes.toString('base64url'),
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
  ];
}

/** The secrets (in any encoding) found in `texts`. */
export function leaked(texts: readonly string[], secrets: readonly string[]): string[] {
  const all = texts.join('\n');
  return secrets.filter((secret) => encodings(secret).some((encoded) => all.includes(encoded)));
}

/**
 * `store`, left open when a manager closes it (closing is how a test makes a manager write what it
 * buffered), so the test can read what was written; `close` it for real with the returned function.
 */
export function keptOpen(store: StorageAdapter): { store: StorageAdapter; close: () => Promise<void> } {
  const view = new Proxy(store, {
    get(target, property) {
      if (property === 'close') return async () => undefined;
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store: view, close: () => store.close() };
}

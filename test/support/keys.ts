import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import type { StorageAdapter } from '../../src/adapter.js';

export type PublicKey = Awaited<ReturnType<typeof generateKeyPair>>['publicKey'];

/** A fresh key pair as PEM, generated in the test: no key is ever committed. */
export async function pemKeyPair(
  algorithm: 'RS256' | 'ES256',
): Promise<{ privateKey: string; publicKey: PublicKey; publicPem: string }> {
  const pair = await generateKeyPair(algorithm, { extractable: true });
  return {
    privateKey: await exportPKCS8(pair.privateKey),
    publicKey: pair.publicKey,
    publicPem: await exportSPKI(pair.publicKey),
  };
}

/** Wraps a store to count successful writes of connection records. */
export function countingWrites(store: StorageAdapter): { store: StorageAdapter; writes: () => number } {
  let writes = 0;
  return {
    store: {
      ...store,
      async insert(key, value, options) {
        const written = await store.insert(key, value, options);
        if (written && key.startsWith('connection:')) writes++;
        return written;
      },
      async replace(key, expected, next, options) {
        const written = await store.replace(key, expected, next, options);
        if (written && key.startsWith('connection:')) writes++;
        return written;
      },
    },
    writes: () => writes,
  };
}

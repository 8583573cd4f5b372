import { InvalidRequestError } from '../model/errors.js';
import type { StorageAdapter } from '../store/adapter.js';
import { invalidatingStore } from './invalidating-store.js';
import { NearCache } from './near-cache.js';

const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

/**
 * The near cache the `nearCache` option asks for (already checked by the options schema), and the
 * store the manager then uses; nothing when it is off. A store that cannot report changes is
 * refused rather than cached without them (that would serve replaced credentials) or silently
 * left uncached (an operator sizing the database for the cache would find out under load).
 */
export function nearCacheFor(
  option: boolean | { maxBytes?: number | undefined } | undefined,
  store: StorageAdapter,
): { cache: NearCache; store: StorageAdapter } | undefined {
  if (option === undefined || option === false) return undefined;
  const watch = store.watch?.bind(store);
  if (!watch) {
    throw new InvalidRequestError(
      `nearCache needs a store that reports changes (StorageAdapter.watch); the ${store.name} store does not`,
      'nearCache',
    );
  }
  const cache = new NearCache(watch, option === true ? DEFAULT_MAX_BYTES : (option.maxBytes ?? DEFAULT_MAX_BYTES));
  return { cache, store: invalidatingStore(store, cache) };
}

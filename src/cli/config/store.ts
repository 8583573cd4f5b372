/**
 * From the configuration's `store` value to a storage adapter. The CLI knows no adapter by name:
 * the scheme or `type` goes to `openStore` (src/store/from-url.ts), which maps it to the adapter
 * that declared it, and the adapter checks its own settings.
 */
import { isAbsolute, resolve } from 'node:path';
import { InvalidRequestError } from '../../model/errors.js';
import { isPlainObject } from '../../model/json.js';
import type { StorageAdapter } from '../../store/adapter.js';
import { openStore, storeTypeOf } from '../../store/from-url.js';
import { ConfigError } from './error.js';

/** Where connections are stored. */
export interface StoreConfig {
  /** The adapter (`memory`, `sqlite`, `postgres`, `redis`, …), from the URL's scheme or given. */
  type: string;
  /** The store's URL, as given. */
  url?: string;
  /** A file path instead of a URL (SQLite), made absolute against the configuration's directory. */
  path?: string;
  /** The adapter's own settings (`table`, `maxConnections`, `prefix`, …), checked by the adapter. */
  [setting: string]: unknown;
}

/**
 * The store as the configuration gives it: a URL (`memory`, `sqlite:<path>`, `postgres://…`,
 * `redis://…`; the schemes are the adapters', see `openStore`), or `{ type, url | path, …settings }`.
 * Only the scheme or type is checked here; the adapter checks the rest when the store opens.
 */
export function parseStore(value: unknown, base: string): StoreConfig {
  try {
    if (typeof value === 'string') return { type: storeTypeOf(value), url: value };
    if (isPlainObject(value) && typeof value.type === 'string') {
      storeTypeOf(value.type);
      if (typeof value.path === 'string' && value.path && !isAbsolute(value.path)) {
        return { ...value, type: value.type, path: resolve(base, value.path) };
      }
      return { ...value, type: value.type };
    }
  } catch (error) {
    if (error instanceof InvalidRequestError) throw new ConfigError(error.message, 'store', { cause: error });
    throw error;
  }
  throw new ConfigError('store must be a URL or { type, … }', 'store');
}

/** The storage adapter a store configuration names; drivers are loaded only when used. */
export async function createStore(store: StoreConfig, baseDirectory = process.cwd()): Promise<StorageAdapter> {
  const { type, url, path, ...settings } = store;
  try {
    return await openStore(url ?? `${type}:${path ?? ''}`, { baseDirectory, settings });
  } catch (error) {
    if (error instanceof InvalidRequestError) {
      throw new ConfigError(error.message, error.field ?? 'store', { cause: error });
    }
    throw error;
  }
}

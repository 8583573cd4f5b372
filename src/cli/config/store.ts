/**
 * From the configuration's `store` value to a storage adapter. The one place the CLI knows which
 * stores exist; kept apart so a general store-from-URL resolver can replace it whole.
 */
import { isAbsolute, resolve } from 'node:path';
import { memoryStore } from '../../../adapters/memory.js';
import { isPlainObject } from '../../model/json.js';
import type { StorageAdapter } from '../../store/adapter.js';
import { ConfigError } from './error.js';

/** Where connections are stored. */
export type StoreConfig =
  | { type: 'memory' }
  | { type: 'sqlite'; path: string }
  | { type: 'postgres'; url: string; table?: string; maxConnections?: number };

/** The store a configuration names (`memory`, `sqlite:<path>` relative to the file, `postgres://…`, or `{ type, … }`). */
export function parseStore(value: unknown, base: string): StoreConfig {
  if (typeof value === 'string') {
    if (value === 'memory') return { type: 'memory' };
    if (value.startsWith('sqlite:')) {
      const path = value.slice('sqlite:'.length).replace(/^\/\//, '');
      if (!path) throw new ConfigError('store sqlite:<path> needs a path', 'store');
      return { type: 'sqlite', path: isAbsolute(path) ? path : resolve(base, path) };
    }
    if (/^postgres(ql)?:\/\//.test(value)) return { type: 'postgres', url: value };
    throw new ConfigError('store must be memory, sqlite:<path> or a postgres:// URL', 'store');
  }
  if (isPlainObject(value)) {
    if (value.type === 'memory') return { type: 'memory' };
    if (value.type === 'sqlite' && typeof value.path === 'string' && value.path) {
      return { type: 'sqlite', path: isAbsolute(value.path) ? value.path : resolve(base, value.path) };
    }
    if (value.type === 'postgres' && typeof value.url === 'string') {
      const store: StoreConfig = { type: 'postgres', url: value.url };
      if (typeof value.table === 'string') store.table = value.table;
      if (typeof value.maxConnections === 'number') store.maxConnections = value.maxConnections;
      return store;
    }
  }
  throw new ConfigError('store must be memory, sqlite:<path>, a postgres:// URL or { type, … }', 'store');
}

/** The storage adapter a store configuration names; drivers are loaded only when used. */
export async function createStore(store: StoreConfig): Promise<StorageAdapter> {
  switch (store.type) {
    case 'memory':
      return memoryStore();
    case 'sqlite': {
      const { sqliteStore } = await import('../../../adapters/sqlite.js');
      return sqliteStore(store.path);
    }
    case 'postgres': {
      const { postgresStore } = await import('../../../adapters/postgres.js');
      const options: { uri: string; table?: string; maxConnections?: number } = { uri: store.url };
      if (store.table !== undefined) options.table = store.table;
      if (store.maxConnections !== undefined) options.maxConnections = store.maxConnections;
      return postgresStore(options);
    }
  }
}

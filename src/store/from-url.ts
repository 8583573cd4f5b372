import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as v from 'valibot';
import { InvalidRequestError } from '../model/errors.js';
import type { StorageAdapter } from './adapter.js';

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** Where a relative file path in the URL (`sqlite:data/latchkey.db`) starts. Default: the working directory. */
  baseDirectory?: string;
  /**
   * Settings of the adapter beyond its URL, as a configuration file gives them (`table`,
   * `maxConnections`, `prefix`, …). Each adapter checks its own and refuses one it does not know.
   */
  settings?: Readonly<Record<string, unknown>>;
}

/**
 * What an adapter module exports to be opened by URL: `fromUrl(url, options)`. The schemes that
 * lead to it are listed in the package's `package.json` under `latchkey.stores` (scheme → the
 * adapter's file name in `adapters/`), so this resolver names no adapter and adding one touches
 * its own file, its test and the package metadata.
 */
export interface UrlAdapterModule {
  /** Opens the adapter's store for `url`, checking `options.settings` against its own schema. */
  fromUrl(url: string, options: OpenStoreOptions): StorageAdapter;
}

/**
 * Opens the store a URL names, loading its adapter (and so its driver) only then:
 *
 * | URL | Store |
 * | --- | --- |
 * | `memory` or `memory:` | `memoryStore`: this process only, lost on exit |
 * | `sqlite:<path>`, `sqlite://<path>` | `sqliteStore` on the file (relative to `baseDirectory`); `sqlite:///abs/path` is `/abs/path`; `sqlite::memory:` an in-memory database |
 * | `postgres://…`, `postgresql://…` | `postgresStore` |
 * | `redis://…`, `rediss://…` | `redisStore` (`rediss` is TLS) |
 *
 * An unknown scheme is an {@link InvalidRequestError} on the field `store` that lists the known
 * ones. The URL never appears in an error: it may hold a password.
 *
 * @example
 * ```ts
 * import { ConnectionManager } from 'latchkey';
 * import { openStore } from 'latchkey/adapters/url';
 * const manager = new ConnectionManager({ store: await openStore(process.env.STORE_URL!), integrations });
 * ```
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<StorageAdapter> {
  const adapter = storeTypeOf(url);
  const module = (await import(
    new URL(`../../adapters/${adapter}.js`, import.meta.url).href
  )) as Partial<UrlAdapterModule>;
  if (typeof module.fromUrl !== 'function') {
    throw new InvalidRequestError(`the ${adapter} adapter cannot be opened from a URL`, 'store');
  }
  return module.fromUrl(url, options);
}

/**
 * The name of the adapter a store URL leads to (`postgresql://…` → `postgres`), without loading
 * it; an unknown or missing scheme is an {@link InvalidRequestError} on the field `store`.
 */
export function storeTypeOf(url: string): string {
  const schemes = storeSchemes();
  const scheme =
    typeof url === 'string' ? /^([A-Za-z][A-Za-z0-9+.-]*)(?::|$)/.exec(url)?.[1]?.toLowerCase() : undefined;
  const adapter = scheme === undefined ? undefined : schemes.get(scheme);
  if (adapter === undefined) {
    throw new InvalidRequestError(
      `store must be a URL with one of the schemes ${[...schemes.keys()].map((s) => `${s}:`).join(', ')}`,
      'store',
    );
  }
  return adapter;
}

const ManifestSchema = v.object({
  latchkey: v.object({
    stores: v.record(
      v.pipe(v.string(), v.regex(/^[a-z][a-z0-9+.-]*$/)),
      v.pipe(v.string(), v.regex(/^[a-z][a-z0-9-]*$/)),
    ),
  }),
});
let cachedSchemes: Map<string, string> | undefined;

/** Scheme → adapter file name, from the nearest `package.json` with a `latchkey.stores` table. */
export function storeSchemes(): ReadonlyMap<string, string> {
  if (cachedSchemes) return cachedSchemes;
  for (let directory = dirname(fileURLToPath(import.meta.url)); ; directory = dirname(directory)) {
    const candidate = join(directory, 'package.json');
    if (existsSync(candidate)) {
      const manifest = v.safeParse(ManifestSchema, JSON.parse(readFileSync(candidate, 'utf8')));
      if (manifest.success) return (cachedSchemes = new Map(Object.entries(manifest.output.latchkey.stores)));
    }
    if (dirname(directory) === directory) throw new Error('latchkey: no package.json lists latchkey.stores');
  }
}

/**
 * The settings an adapter takes beside its URL, checked by its schema: a setting that is not in
 * it, or of the wrong type, is an {@link InvalidRequestError} naming `store.<setting>`.
 */
export function urlSettings<S extends v.ObjectEntries>(
  entries: S,
  settings: Readonly<Record<string, unknown>> | undefined,
): v.InferOutput<v.StrictObjectSchema<S, undefined>> {
  const parsed = v.safeParse(v.strictObject(entries), settings ?? {});
  if (parsed.success) return parsed.output;
  const issue = parsed.issues[0];
  const field = issue.path?.map((item) => String(item.key)).join('.');
  throw new InvalidRequestError(
    `store${field ? `.${field}` : ''}: ${issue.message}`,
    field ? `store.${field}` : 'store',
  );
}

/**
 * The `latchkey` configuration: a `.json` file or a `.js`/`.mjs` module whose default export is the
 * object (or a function returning it), with `LATCHKEY_*` environment variables over it. Read and
 * checked once by {@link loadConfig}; every command builds its manager with
 * {@link createManagerFromConfig}.
 */
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ApiKey, API_SCOPES } from '../api/access.js';
import type { ConnectHandlerOptions } from '../http.js';
import { ConnectionManager } from '../manager.js';
import type { Logger } from '../model/connection.js';
import { InvalidRequestError } from '../model/errors.js';
import { isPlainObject } from '../model/json.js';
import type { ConnectionManagerOptions } from '../operations/options.js';
import type { BackgroundRefreshOptions } from '../operations/background-refresh.js';
import type { StorageAdapter } from '../store/adapter.js';
import { openStore, storeTypeOf } from '../store/from-url.js';
import type { WebhookOptions } from '../webhooks/sender.js';

/** The configuration is missing, unreadable or invalid. `field` names the culprit; never a value. */
export class ConfigError extends Error {
  readonly code = 'invalid_config' as const;
  readonly field: string | undefined;
  constructor(message: string, field?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
    this.field = field;
  }
}

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

/** The file's shape. Every field is optional; the environment can supply or override most. */
export interface LatchkeyConfigFile {
  /** `memory`, `sqlite:<path>`, `postgres://…`, or the object form. Default memory. Env: `LATCHKEY_STORE`. */
  store?: string | StoreConfig;
  /** Provider config key → integration, as `new ConnectionManager({ integrations })` takes them. */
  integrations?: ConnectionManagerOptions['integrations'];
  providers?: ConnectionManagerOptions['providers'];
  /** One key or a ring (first encrypts). Env: `LATCHKEY_ENCRYPTION_KEY` (comma-separated). */
  encryptionKey?: string | string[];
  /** Refuse to start without `encryptionKey`. Default true for the server. */
  requireEncryption?: boolean;
  refreshMarginSeconds?: number;
  failurePolicy?: ConnectionManagerOptions['failurePolicy'];
  lock?: ConnectionManagerOptions['lock'];
  http?: ConnectionManagerOptions['http'];
  /** API keys with scopes. Env: `LATCHKEY_API_KEYS` (comma-separated, full access). */
  apiKeys?: ApiKey[];
  /** Serve without keys; only accepted when `server.host` is a loopback address. */
  allowNoKeysOnLoopback?: boolean;
  /**
   * Serve the OAuth connect routes too (`/oauth/connect/…`, `/oauth/callback`): the connect
   * handler's options without `manager`. Needs a `.js`/`.mjs` config, since `authorizeConnection`
   * is a function (it decides who the end user is, from your session cookie).
   */
  connect?: Omit<ConnectHandlerOptions, 'manager' | 'logger'>;
  /** How often unused connections are refreshed or checked (the manager's `keepAlive`). */
  keepAlive?: ConnectionManagerOptions['keepAlive'];
  /** Run the background refresher in this server (`true`, or its options). Default false. */
  backgroundRefresh?: boolean | BackgroundRefreshOptions;
  /**
   * POST Nango-shaped auth webhooks to your app. `secret` may come from `LATCHKEY_WEBHOOK_SECRET`
   * (better than writing it in the file).
   */
  webhooks?: Partial<WebhookOptions> & { url: string };
  server?: {
    /** Default `127.0.0.1`. Env: `LATCHKEY_HOST`. */
    host?: string;
    /** Default 3003 (Nango's local port). Env: `LATCHKEY_PORT`. */
    port?: number;
    basePath?: string;
    maxBodyBytes?: number;
    /** How long in-flight requests may take to finish on SIGTERM. Default 10 000 ms. */
    shutdownTimeoutMs?: number;
  };
}

export interface ServerConfig {
  host: string;
  port: number;
  basePath?: string;
  maxBodyBytes?: number;
  shutdownTimeoutMs: number;
  apiKeys: ApiKey[];
  allowNoKeysOnLoopback: boolean;
  connect?: Omit<ConnectHandlerOptions, 'manager' | 'logger'>;
}

/** What {@link loadConfig} returns: checked, with the environment applied. */
export interface LatchkeyConfig {
  /** The file it came from (absolute). */
  path: string;
  store: StoreConfig;
  /** Options for the manager, except `store` and `logger` (see {@link createManagerFromConfig}). */
  manager: Omit<ConnectionManagerOptions, 'store' | 'logger'>;
  server: ServerConfig;
  /** Started by `serve` when set. */
  backgroundRefresh?: BackgroundRefreshOptions;
  /** Started by `serve` when set. */
  webhooks?: WebhookOptions;
}

const TOP_LEVEL = new Set([
  'store',
  'integrations',
  'providers',
  'encryptionKey',
  'requireEncryption',
  'refreshMarginSeconds',
  'failurePolicy',
  'lock',
  'http',
  'apiKeys',
  'allowNoKeysOnLoopback',
  'connect',
  'keepAlive',
  'backgroundRefresh',
  'webhooks',
  'server',
]);
const SERVER_FIELDS = new Set(['host', 'port', 'basePath', 'maxBodyBytes', 'shutdownTimeoutMs']);
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Reads, checks and completes the configuration at `path`, with `env` (default `process.env`) over it. */
export async function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<LatchkeyConfig> {
  const absolute = resolve(path);
  const file = await readConfigFile(absolute);
  return checkConfig(file, absolute, env);
}

async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let value: unknown;
  const extension = extname(path);
  if (extension === '.json') {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read the configuration file ${path}`, 'config', { cause: error });
    }
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`the configuration file ${path} is not valid JSON`, 'config', { cause: error });
    }
  } else if (extension === '.js' || extension === '.mjs') {
    let module: { default?: unknown };
    try {
      module = (await import(pathToFileURL(path).href)) as { default?: unknown };
    } catch (error) {
      throw new ConfigError(`cannot load the configuration module ${path}`, 'config', { cause: error });
    }
    value = typeof module.default === 'function' ? await (module.default as () => unknown)() : module.default;
  } else {
    throw new ConfigError('the configuration file must end in .json, .js or .mjs', 'config');
  }
  if (!isPlainObject(value)) throw new ConfigError('the configuration must be an object', 'config');
  return value;
}

function checkConfig(file: Record<string, unknown>, path: string, env: NodeJS.ProcessEnv): LatchkeyConfig {
  for (const key of Object.keys(file)) {
    if (!TOP_LEVEL.has(key)) throw new ConfigError(`unknown configuration field "${key}"`, key);
  }
  const server = file.server === undefined ? {} : file.server;
  if (!isPlainObject(server)) throw new ConfigError('server must be an object', 'server');
  for (const key of Object.keys(server)) {
    if (!SERVER_FIELDS.has(key)) throw new ConfigError(`unknown configuration field "server.${key}"`, `server.${key}`);
  }

  const store = parseStore(env.LATCHKEY_STORE ?? file.store ?? 'memory', dirname(path));
  const encryptionKey = env.LATCHKEY_ENCRYPTION_KEY
    ? env.LATCHKEY_ENCRYPTION_KEY.split(',').map((key) => key.trim())
    : file.encryptionKey;
  if (encryptionKey !== undefined && !isStringOrStrings(encryptionKey)) {
    throw new ConfigError('encryptionKey must be a string or an array of strings', 'encryptionKey');
  }
  const integrations = file.integrations ?? {};
  if (!isPlainObject(integrations)) throw new ConfigError('integrations must be an object', 'integrations');

  const host = env.LATCHKEY_HOST ?? (server.host as unknown) ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '')
    throw new ConfigError('server.host must be a host name or address', 'server.host');
  const port = env.LATCHKEY_PORT !== undefined ? Number(env.LATCHKEY_PORT) : (server.port ?? 3003);
  if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535) {
    throw new ConfigError('server.port must be a port number (0 picks a free one)', 'server.port');
  }
  const shutdownTimeoutMs = server.shutdownTimeoutMs ?? 10_000;
  if (!Number.isInteger(shutdownTimeoutMs) || (shutdownTimeoutMs as number) < 0) {
    throw new ConfigError(
      'server.shutdownTimeoutMs must be a whole number of milliseconds',
      'server.shutdownTimeoutMs',
    );
  }
  const apiKeys = env.LATCHKEY_API_KEYS
    ? env.LATCHKEY_API_KEYS.split(',').map((key, index) => ({ key: key.trim(), name: `env key ${index}` }))
    : (file.apiKeys ?? []);
  if (!Array.isArray(apiKeys)) throw new ConfigError('apiKeys must be an array', 'apiKeys');
  apiKeys.forEach((entry: unknown, index) => {
    if (!isPlainObject(entry) || typeof entry.key !== 'string') {
      throw new ConfigError(`apiKeys[${index}] must be { key, scopes?, name? }`, `apiKeys[${index}]`);
    }
    const scopes = entry.scopes;
    if (
      scopes !== undefined &&
      (!Array.isArray(scopes) || !scopes.every((s) => (API_SCOPES as readonly unknown[]).includes(s)))
    ) {
      throw new ConfigError(
        `apiKeys[${index}].scopes must list scopes among ${API_SCOPES.join(', ')}`,
        `apiKeys[${index}].scopes`,
      );
    }
  });
  const allowNoKeysOnLoopback = file.allowNoKeysOnLoopback === true;
  if (apiKeys.length === 0 && !allowNoKeysOnLoopback) {
    throw new ConfigError('apiKeys (or LATCHKEY_API_KEYS) needs at least one key', 'apiKeys');
  }
  if (allowNoKeysOnLoopback && apiKeys.length === 0 && !LOOPBACK.has(host)) {
    throw new ConfigError('allowNoKeysOnLoopback needs server.host to be a loopback address', 'allowNoKeysOnLoopback');
  }

  const manager: LatchkeyConfig['manager'] = {
    integrations: integrations as ConnectionManagerOptions['integrations'],
    requireEncryption: file.requireEncryption !== false,
  };
  if (encryptionKey !== undefined) manager.encryptionKey = encryptionKey as string | string[];
  if (file.providers !== undefined) manager.providers = file.providers as ConnectionManagerOptions['providers'];
  if (file.refreshMarginSeconds !== undefined) manager.refreshMarginSeconds = file.refreshMarginSeconds as number;
  if (file.failurePolicy !== undefined)
    manager.failurePolicy = file.failurePolicy as ConnectionManagerOptions['failurePolicy'];
  if (file.lock !== undefined) manager.lock = file.lock as ConnectionManagerOptions['lock'];
  if (file.http !== undefined) manager.http = file.http as ConnectionManagerOptions['http'];
  if (file.keepAlive !== undefined) manager.keepAlive = file.keepAlive as ConnectionManagerOptions['keepAlive'];

  const serverConfig: ServerConfig = {
    host,
    port: port as number,
    shutdownTimeoutMs: shutdownTimeoutMs as number,
    apiKeys: apiKeys as ApiKey[],
    allowNoKeysOnLoopback,
  };
  if (file.connect !== undefined) {
    const connect = file.connect;
    if (
      !isPlainObject(connect) ||
      typeof connect.callbackUrl !== 'string' ||
      !Array.isArray(connect.allowedRedirectUrls) ||
      typeof connect.authorizeConnection !== 'function'
    ) {
      throw new ConfigError(
        'connect needs callbackUrl, allowedRedirectUrls and an authorizeConnection function (a .js config)',
        'connect',
      );
    }
    serverConfig.connect = connect as unknown as Omit<ConnectHandlerOptions, 'manager' | 'logger'>;
  }
  if (server.basePath !== undefined) serverConfig.basePath = String(server.basePath);
  if (server.maxBodyBytes !== undefined) serverConfig.maxBodyBytes = server.maxBodyBytes as number;
  const config: LatchkeyConfig = { path, store, manager, server: serverConfig };
  // The manager checks the options themselves when each is started; here only their shape.
  if (file.backgroundRefresh !== undefined && file.backgroundRefresh !== false) {
    if (file.backgroundRefresh !== true && !isPlainObject(file.backgroundRefresh)) {
      throw new ConfigError('backgroundRefresh must be true or an object of options', 'backgroundRefresh');
    }
    config.backgroundRefresh =
      file.backgroundRefresh === true ? {} : (file.backgroundRefresh as BackgroundRefreshOptions);
  }
  if (file.webhooks !== undefined) {
    const webhooks = file.webhooks;
    const secret = env.LATCHKEY_WEBHOOK_SECRET ?? (isPlainObject(webhooks) ? webhooks.secret : undefined);
    if (!isPlainObject(webhooks) || typeof webhooks.url !== 'string' || typeof secret !== 'string' || secret === '') {
      throw new ConfigError('webhooks needs a url, and a secret (or LATCHKEY_WEBHOOK_SECRET)', 'webhooks');
    }
    config.webhooks = { ...(webhooks as unknown as WebhookOptions), secret };
  }
  return config;
}

function isStringOrStrings(value: unknown): boolean {
  return typeof value === 'string' || (Array.isArray(value) && value.every((item) => typeof item === 'string'));
}

/**
 * The store as the configuration gives it: a URL (`memory`, `sqlite:<path>`, `postgres://…`,
 * `redis://…`; the schemes are the adapters', see `openStore`), or `{ type, url | path, …settings }`.
 * Only the scheme or type is checked here; the adapter checks the rest when the store opens.
 */
function parseStore(value: unknown, base: string): StoreConfig {
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

/**
 * The storage adapter a store configuration names, opened by `openStore`; drivers are loaded only
 * when used. A relative path (`sqlite:data.db`) starts at `baseDirectory`, the configuration
 * file's directory.
 */
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

/**
 * The manager a configuration describes. Its own checks (integrations, keys) throw typed
 * `LatchkeyError`s, which commands report as configuration errors.
 */
export async function createManagerFromConfig(
  config: LatchkeyConfig,
  options: { logger?: Logger } = {},
): Promise<ConnectionManager> {
  const store = await createStore(config.store, dirname(config.path));
  try {
    return new ConnectionManager({ ...config.manager, store, ...(options.logger ? { logger: options.logger } : {}) });
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
}

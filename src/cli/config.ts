/**
 * The `latchkey` configuration: a `.json` file or a `.js`/`.mjs` module (executed code: it runs
 * with the server's rights), with `LATCHKEY_*` environment variables over it. Read by
 * `config/read.ts`, the environment applied by `config/env.ts`, checked by the schema in
 * `config/schema.ts`, the store named by `config/store.ts`. Each command says what it needs
 * ({@link ConfigNeeds}): only `serve` answers HTTP and needs API keys; `list` and `show` never
 * decrypt and need no encryption key.
 */
import { dirname, resolve } from 'node:path';
import type { ApiKey } from '../api/access.js';
import type { ConnectHandlerOptions } from '../http.js';
import { ConnectionManager } from '../manager.js';
import type { Logger } from '../model/connection.js';
import { isPlainObject } from '../model/json.js';
import type { BackgroundRefreshOptions } from '../operations/background-refresh.js';
import type { ConnectionManagerOptions } from '../operations/options.js';
import type { WebhookOptions } from '../webhooks/sender.js';
import { withEnvironment } from './config/env.js';
import { ConfigError } from './config/error.js';
import { readConfigFile } from './config/read.js';
import { type ConfigFile, checkConfigFile, managerOptionsOf } from './config/schema.js';
import { createStore, parseStore, type StoreConfig } from './config/store.js';

export { ConfigError } from './config/error.js';
export { createStore, type StoreConfig } from './config/store.js';

/** The file's shape (see `config/schema.ts`). Every field is optional. */
export type LatchkeyConfigFile = ConfigFile;

export interface ServerConfig {
  host: string;
  port: number;
  basePath?: string;
  maxBodyBytes?: number;
  shutdownTimeoutMs: number;
  apiKeys: ApiKey[];
  allowNoKeysOnLoopback: boolean;
  connect?: Omit<ConnectHandlerOptions, 'manager' | 'logger'>;
  /** App origins whose pages may use the connect WebSocket and session routes (empty: same host only). */
  allowedOrigins?: string[];
  /** Where browsers and providers reach this server; with it, connect-session flows are served. */
  publicUrl?: string;
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

/** What a command needs from the configuration beyond a store. */
export interface ConfigNeeds {
  /** It answers HTTP (`serve`): at least one API key, or `allowNoKeysOnLoopback`. */
  apiKeys: boolean;
  /** It may decrypt credentials: `requireEncryption` (default true) applies. */
  encryption: boolean;
}

/** `serve`: everything. */
export const SERVE_NEEDS: ConfigNeeds = { apiKeys: true, encryption: true };
/** Commands that read or write credentials (`refresh`, `delete`, `rotate-key`, `import-from-nango`). */
export const CREDENTIAL_COMMAND_NEEDS: ConfigNeeds = { apiKeys: false, encryption: true };
/** Commands that never decrypt (`list`, `show`). */
export const READ_ONLY_COMMAND_NEEDS: ConfigNeeds = { apiKeys: false, encryption: false };

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Reads, checks and completes the configuration at `path`, with `env` (default `process.env`) over it. */
export async function loadConfig(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
  needs: ConfigNeeds = SERVE_NEEDS,
): Promise<LatchkeyConfig> {
  const absolute = resolve(path);
  const raw = await readConfigFile(absolute);
  if (!isPlainObject(raw)) throw new ConfigError('the configuration must be an object', 'config');
  const file = checkConfigFile(withEnvironment(raw, env));
  const store = parseStore(file.store ?? 'memory', dirname(absolute));
  const host = file.server?.host ?? '127.0.0.1';
  const apiKeys: ApiKey[] = file.apiKeys ?? [];
  const allowNoKeysOnLoopback = file.allowNoKeysOnLoopback === true;
  if (needs.apiKeys && apiKeys.length === 0 && !allowNoKeysOnLoopback) {
    throw new ConfigError('apiKeys (or LATCHKEY_API_KEYS) needs at least one key', 'apiKeys');
  }
  if (needs.apiKeys && allowNoKeysOnLoopback && apiKeys.length === 0 && !LOOPBACK.has(host)) {
    throw new ConfigError('allowNoKeysOnLoopback needs server.host to be a loopback address', 'allowNoKeysOnLoopback');
  }
  const manager = managerOptionsOf(file);
  if (!needs.encryption) manager.requireEncryption = false;

  const server: ServerConfig = {
    host,
    port: file.server?.port ?? 3003,
    shutdownTimeoutMs: file.server?.shutdownTimeoutMs ?? 10_000,
    apiKeys,
    allowNoKeysOnLoopback,
    allowedOrigins: (file.allowedOrigins ?? []).map((origin) => new URL(origin).origin),
  };
  if (file.connect !== undefined) server.connect = file.connect;
  if (file.publicUrl !== undefined) server.publicUrl = file.publicUrl.replace(/\/$/, '');
  if (file.server?.basePath !== undefined) server.basePath = file.server.basePath;
  if (file.server?.maxBodyBytes !== undefined) server.maxBodyBytes = file.server.maxBodyBytes;
  const config: LatchkeyConfig = { path: absolute, store, manager, server };
  if (file.backgroundRefresh !== undefined && file.backgroundRefresh !== false) {
    config.backgroundRefresh = file.backgroundRefresh === true ? {} : file.backgroundRefresh;
  }
  if (file.webhooks !== undefined) config.webhooks = file.webhooks;
  return config;
}

/**
 * The manager a configuration describes. Its own checks (integrations, keys) throw typed
 * `LatchkeyError`s, which commands report as configuration errors.
 */
export async function createManagerFromConfig(
  config: LatchkeyConfig,
  options: { logger?: Logger } = {},
): Promise<ConnectionManager> {
  if (config.manager.requireEncryption !== false && config.manager.encryptionKey === undefined) {
    // Named as the operator sets it: most set the key in the environment, not in the file.
    throw new ConfigError(
      'no encryption key: set LATCHKEY_ENCRYPTION_KEY (or encryptionKey in the configuration file) to a key made with `openssl rand -base64 32`, or set requireEncryption: false to store credentials in plain text',
      'encryptionKey',
    );
  }
  const store = await createStore(config.store, dirname(config.path));
  try {
    return new ConnectionManager({ ...config.manager, store, ...(options.logger ? { logger: options.logger } : {}) });
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
}

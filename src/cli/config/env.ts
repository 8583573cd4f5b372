/**
 * `LATCHKEY_*` environment variables over the file: each read and checked here, named in its own
 * errors (`LATCHKEY_PORT`), then merged into the file's object before the schema checks the whole.
 * A variable set to an empty string is refused rather than read as "unset" or as a default:
 * `LATCHKEY_PORT=""` must not become a random port.
 */
import { isPlainObject } from '../../model/json.js';
import { ConfigError } from './error.js';

/** The variables Latchkey reads, and where each lands in the file's shape. */
export const ENV_VARIABLES = [
  'LATCHKEY_STORE',
  'LATCHKEY_ENCRYPTION_KEY',
  'LATCHKEY_API_KEYS',
  'LATCHKEY_HOST',
  'LATCHKEY_PORT',
  'LATCHKEY_WEBHOOK_SECRET',
] as const;

/** `file` with the environment applied; `file` itself is not changed. */
export function withEnvironment(file: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...file };
  const store = variable(env, 'LATCHKEY_STORE');
  if (store !== undefined) merged.store = store;
  const encryptionKey = variable(env, 'LATCHKEY_ENCRYPTION_KEY');
  if (encryptionKey !== undefined) merged.encryptionKey = list(encryptionKey, 'LATCHKEY_ENCRYPTION_KEY');
  const apiKeys = variable(env, 'LATCHKEY_API_KEYS');
  if (apiKeys !== undefined) {
    merged.apiKeys = list(apiKeys, 'LATCHKEY_API_KEYS').map((key, index) => ({ key, name: `env key ${index}` }));
  }
  const host = variable(env, 'LATCHKEY_HOST');
  const port = variable(env, 'LATCHKEY_PORT');
  if (host !== undefined || port !== undefined) {
    const server = isPlainObject(file.server) ? { ...file.server } : file.server === undefined ? {} : file.server;
    if (isPlainObject(server)) {
      if (host !== undefined) server.host = host;
      if (port !== undefined) server.port = portNumber(port);
    }
    merged.server = server;
  }
  const secret = variable(env, 'LATCHKEY_WEBHOOK_SECRET');
  if (secret !== undefined && isPlainObject(file.webhooks)) merged.webhooks = { ...file.webhooks, secret };
  return merged;
}

/** The variable's value; set but empty (or only spaces) is an error naming it. */
function variable(env: NodeJS.ProcessEnv, name: (typeof ENV_VARIABLES)[number]): string | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  if (value.trim() === '') throw new ConfigError(`${name} is set but empty; unset it or give a value`, name);
  return value;
}

/** A comma-separated list, each item trimmed and none empty. */
function list(value: string, name: string): string[] {
  const items = value.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) {
    throw new ConfigError(`${name} has an empty item; separate values with single commas`, name);
  }
  return items;
}

/** Decimal digits only, 0–65535: `" 0x10 "` is not port 16, and `"1e3"` is not port 1000. */
function portNumber(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new ConfigError(
      'LATCHKEY_PORT must be a port number from 0 to 65535 in decimal digits (0 picks a free one)',
      'LATCHKEY_PORT',
    );
  }
  return Number(value);
}

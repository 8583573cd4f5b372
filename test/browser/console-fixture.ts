/**
 * The console tests' world: a SQLite file holding a few real connections (OAuth against the
 * strict token server: one healthy, one whose grant the provider revoked, one whose provider
 * fails) and 100,000 seeded in bulk; a manager over it whose store counts the listing calls; the
 * console served on 127.0.0.1; and every response body seen, for the secret scan.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteStore } from '../../adapters/sqlite.js';
import type { StorageAdapter } from '../../src/adapter.js';
import { createConsoleHandler, toNodeListener } from '../../src/http.js';
import { ConnectionManager } from '../../src/index.js';
import { startTokenServer, type TokenServer } from '../../src/testing/token-server.js';
import { captureLogs } from '../support/logs.js';
import { SEED_INTEGRATIONS, SEED_SECRET_MARK, seedConnections } from './console-seed.js';

export const SEEDED = 100_000;
export const ADMIN_KEY = `admin-console-key-${SEED_SECRET_MARK}`;
export const FULL_KEY = `full-access-key-${SEED_SECRET_MARK}`;
export const NARROW_KEY = `list-only-key-${SEED_SECRET_MARK}`;
const MARK = SEED_SECRET_MARK;

export interface ConsoleWorld {
  url: string;
  base: string;
  manager: ConnectionManager;
  tokens: TokenServer;
  calls: { findConnections: number; scan: number };
  close(): Promise<void>;
}

export async function startConsoleWorld(): Promise<ConsoleWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-console-'));
  const path = join(dir, 'console.db');
  const tokens = await startTokenServer({
    clientSecret: `client-secret-${MARK}`,
    tokens: (family, n) => ({ access: `${family}-access-${n}-${MARK}`, refresh: `${family}-refresh-${n}-${MARK}` }),
  });
  const calls = { findConnections: 0, scan: 0 };
  const inner = sqliteStore(path);
  // Counts the two listing calls, to show the console's list takes the indexed path.
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (name === 'findConnections' || name === 'scan') {
        return (...args: unknown[]) => {
          calls[name]++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return value;
    },
  }) satisfies StorageAdapter;
  const integrations: ConstructorParameters<typeof ConnectionManager>[0] = {
    store,
    logger: captureLogs().logger,
    http: { allowInsecureLoopback: true },
    integrations: {
      crm: {
        provider: 'crm',
        clientId: tokens.clientId,
        clientSecret: tokens.clientSecret,
        definition: { authMode: 'OAUTH2', tokenUrl: tokens.url },
      },
      ...Object.fromEntries(
        Array.from({ length: SEED_INTEGRATIONS }, (_, i) => [
          `keys-${i}`,
          { provider: 'crm', definition: { authMode: 'API_KEY' as const } },
        ]),
      ),
    },
  };
  const manager = new ConnectionManager(integrations);
  const oauth = async (name: string, extra: { tags?: Record<string, string> } = {}) => {
    const refreshToken = tokens.grant(name);
    await manager.create({
      connectionId: name,
      providerConfigKey: 'crm',
      credentials: {
        type: 'OAUTH2',
        access_token: `${name}-first-access-${MARK}`,
        refresh_token: refreshToken,
        expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      },
      endUser: { id: `${name}-user`, email: `${name}@example.com` },
      metadata: { plan: 'gold' },
      ...extra,
    });
  };
  await oauth('alice', { tags: { team: 'red' } });
  await oauth('bob');
  await oauth('carol');
  await manager.create({
    connectionId: 'dave',
    providerConfigKey: 'keys-0',
    credentials: { type: 'API_KEY', apiKey: `dave-api-key-${MARK}` },
  });
  // bob: the user revoked the grant at the provider (needs reconnect); carol: the provider is down (failing).
  tokens.revoke('bob');
  tokens.reply((request) =>
    request.refreshToken?.startsWith('carol')
      ? { status: 503, json: { error: 'temporarily_unavailable' } }
      : { status: 400, json: { error: 'invalid_grant' } },
  );
  await manager.get('bob', { providerConfigKey: 'crm', forceRefresh: true }).catch(() => undefined);
  await manager.get('carol', { providerConfigKey: 'crm', forceRefresh: true }).catch(() => undefined);
  tokens.reply(undefined);

  await seedConnections(path, SEEDED);

  const base = '/console/';
  const handler = createConsoleHandler({
    manager,
    apiKeys: [
      { key: ADMIN_KEY, scopes: ['console'], name: 'admin' },
      { key: FULL_KEY, scopes: ['environment:*'], name: 'full' },
      { key: NARROW_KEY, scopes: ['environment:connections:list', 'environment:connections:read'], name: 'narrow' },
    ],
    logger: captureLogs().logger,
  });
  const server: Server = createServer(toNodeListener(handler));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    base,
    manager,
    tokens,
    calls,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await manager.close();
      await tokens.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Whether `text` holds a seeded secret or a key: as is, HTML- or URL-escaped, JSON-escaped, or
 * inside any base64 or base64url run. Every secret of the fixture contains the mark.
 */
export function findsSecret(text: string): boolean {
  const variants = [
    text,
    decodeEntities(text),
    safeDecodeUri(text),
    text.replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
  ];
  for (const variant of variants) {
    if (variant.includes(MARK)) return true;
    for (const run of variant.match(/[A-Za-z0-9+/_-]{12,}={0,2}/g) ?? []) {
      for (const encoding of ['base64', 'base64url'] as const) {
        if (Buffer.from(run, encoding).toString('latin1').includes(MARK)) return true;
        // A secret encoded inside a longer value starts at any of three alignments.
        for (let shift = 1; shift < 4; shift++) {
          if (Buffer.from(run.slice(shift), encoding).toString('latin1').includes(MARK)) return true;
        }
      }
    }
  }
  return false;
}

function decodeEntities(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCharCode(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

function safeDecodeUri(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

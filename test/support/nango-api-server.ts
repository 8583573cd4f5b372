import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One connection as Nango holds it: its `ConnectionFull` (with the refresh token). */
export type NangoConnectionFull = Record<string, unknown> & {
  connection_id: string;
  provider_config_key: string;
  provider: string;
  created_at: string;
};

export interface FakeNango {
  url: string;
  secretKey: string;
  /** `GET /connections` requests, as `page` numbers, in order. */
  listRequests: number[];
  /** `GET /connection/:id` requests, as `providerConfigKey/connectionId`. */
  fetches: string[];
  /** Authorization headers that did not carry the secret key. */
  refusedKeys: number;
  /** Answer a fetch with this status and Nango's error body instead (`null`: answer normally). */
  failFetch(rule: (providerConfigKey: string, connectionId: string) => { status: number; code: string } | null): void;
  close(): Promise<void>;
}

/** Ways a server may page differently from Nango, seen in Nango-compatible servers. */
export interface NangoQuirks {
  /** Answer every list request with the first page, whatever `page` says. */
  ignorePage?: boolean;
  /** Serve at most this many per page, whatever `limit` asks (offsets follow the served size). */
  maxLimit?: number;
  /** Add `total` (the count of all connections) to each list answer. */
  total?: boolean;
}

/**
 * Nango's connections API, as far as the importer uses it: Bearer secret key (401 otherwise),
 * `GET /connections?limit=&page=` paged by offset, newest first, `limit` 1–2000 (400 otherwise),
 * and `GET /connection/:id?provider_config_key=&refresh_token=` (400 without the key, 404 for
 * an unknown connection, the refresh token only with `refresh_token=true`).
 */
export async function startFakeNango(connections: NangoConnectionFull[], quirks: NangoQuirks = {}): Promise<FakeNango> {
  const secretKey = 'nango-secret-key-0123456789';
  const listRequests: number[] = [];
  const fetches: string[] = [];
  let refusedKeys = 0;
  let failRule: (providerConfigKey: string, connectionId: string) => { status: number; code: string } | null = () =>
    null;
  const newestFirst = [...connections].sort((a, b) => b.created_at.localeCompare(a.created_at));

  const server = createServer((req, res) => {
    const send = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const url = new URL(req.url ?? '/', 'http://nango.local');
    if (req.headers.authorization !== `Bearer ${secretKey}`) {
      refusedKeys++;
      send(401, { error: { code: 'unknown_account', message: 'Authentication failed' } });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/connections') {
      const limit = Number(url.searchParams.get('limit') ?? 10_000);
      const page = Number(url.searchParams.get('page') ?? 0);
      if (!Number.isInteger(limit) || limit < 1 || limit > 2000 || !Number.isInteger(page) || page < 0) {
        send(400, { error: { code: 'invalid_query_params' } });
        return;
      }
      listRequests.push(page);
      if (listRequests.length > 100) {
        // A walk that never ends (the bug this fake reproduces): refuse instead of serving for ever.
        send(429, { error: { code: 'too_many_list_requests' } });
        return;
      }
      const served = Math.min(limit, quirks.maxLimit ?? limit);
      const offset = quirks.ignorePage === true ? 0 : page * served;
      const slice = newestFirst.slice(offset, offset + served);
      send(200, {
        ...(quirks.total === true ? { total: connections.length } : {}),
        connections: slice.map((c) => ({
          id: c.id,
          connection_id: c.connection_id,
          provider_config_key: c.provider_config_key,
          provider: c.provider,
          created: c.created_at,
          metadata: c.metadata ?? null,
          errors: [],
          end_user: c.end_user ?? null,
          tags: c.tags ?? {},
        })),
      });
      return;
    }
    const match = /^\/connection\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && match) {
      const connectionId = decodeURIComponent(match[1]!);
      const providerConfigKey = url.searchParams.get('provider_config_key');
      if (!providerConfigKey) {
        send(400, { error: { code: 'invalid_query_params' } });
        return;
      }
      fetches.push(`${providerConfigKey}/${connectionId}`);
      const failure = failRule(providerConfigKey, connectionId);
      if (failure) {
        send(failure.status, { error: { code: failure.code, message: 'refused' } });
        return;
      }
      const found = connections.find(
        (c) => c.connection_id === connectionId && c.provider_config_key === providerConfigKey,
      );
      if (!found) {
        send(404, { error: { code: 'not_found', message: 'No connection' } });
        return;
      }
      const withToken = url.searchParams.get('refresh_token') === 'true';
      const credentials = { ...(found.credentials as Record<string, unknown>) };
      if (!withToken) delete credentials.refresh_token;
      send(200, { ...found, credentials });
      return;
    }
    send(404, { error: { code: 'unknown_route' } });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    secretKey,
    listRequests,
    fetches,
    get refusedKeys() {
      return refusedKeys;
    },
    failFetch(rule) {
      failRule = rule;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

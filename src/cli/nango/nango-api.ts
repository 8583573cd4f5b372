import { setTimeout as sleep } from 'node:timers/promises';

/** What Nango's `GET /connections` lists per connection (the fields the importer reads). */
export interface NangoListedConnection {
  connection_id: string;
  provider_config_key: string;
  provider?: string;
}

/** One page of `GET /connections`. */
export interface NangoPage {
  items: NangoListedConnection[];
  /** The server's count of all connections, when its answer gives one (`total`). */
  total?: number | undefined;
  /** Set (to the page number) when the server answered this page with the previous page's ids: it does not page. */
  repeated?: number;
}

/**
 * A refusal or failure of Nango's API. `status` is the HTTP status (0 when no answer came);
 * `code` is Nango's error code when its body had one (`unknown_provider_config`, `not_found`…).
 * The message never quotes a response body or the secret key.
 */
export class NangoApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  constructor(message: string, status: number, code?: string) {
    super(message);
    this.name = 'NangoApiError';
    this.status = status;
    this.code = code;
  }
  /** Nango refused the key: nothing else will work. */
  get unauthorized(): boolean {
    return this.status === 401 || this.status === 403;
  }
  /** Worth another try: no answer, a 5xx, or a rate limit. */
  get transient(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

/** Nango's connections API, as the importer uses it: a base URL and a secret key. */
export class NangoApi {
  readonly #base: URL;
  readonly #secretKey: string;
  readonly #timeoutMs: number;
  readonly #retries: number;

  constructor(baseUrl: URL, secretKey: string, options: { timeoutMs?: number; retries?: number | undefined } = {}) {
    this.#base = baseUrl;
    this.#secretKey = secretKey;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#retries = options.retries ?? 3;
  }

  /**
   * Every connection, a page at a time. Nango pages with `limit` (at most 2,000) and a 0-based
   * `page`, newest first, by offset. Servers differ in how they keep that contract, and each
   * difference once made the import wrong: one ignored `page` (the walk never ended), one capped
   * `limit` below what was asked (the first short page looked like the last: 2 of 6 imported). So
   * the walk learns the server's page size from its first page (asking that size from then on, so
   * offsets line up however the server computes them), stops on an empty page, a page shorter
   * than that size, or a page with the same ids as the one before, and reports the server's
   * `total` when it gives one so the caller can compare.
   */
  async *connections(pageSize: number): AsyncGenerator<NangoPage> {
    let size = pageSize;
    let previous: string | undefined;
    for (let page = 0; ; page++) {
      const body = await this.#get('/connections', { limit: String(size), page: String(page) });
      const list = (body as { connections?: unknown }).connections;
      if (!Array.isArray(list)) throw new NangoApiError('GET /connections answered without a connections list', 200);
      if (list.length === 0) return;
      const items = list.filter(
        (item): item is NangoListedConnection =>
          item !== null &&
          typeof item === 'object' &&
          typeof (item as NangoListedConnection).connection_id === 'string' &&
          typeof (item as NangoListedConnection).provider_config_key === 'string',
      );
      const ids = JSON.stringify(items.map((item) => [item.provider_config_key, item.connection_id]));
      if (ids === previous) {
        yield { items: [], total: totalOf(body), repeated: page };
        return;
      }
      previous = ids;
      yield { items, total: totalOf(body) };
      if (page === 0 && list.length < size) {
        // Fewer than asked on the first page: either all there is, or the server's own cap.
        // One more request (an empty page) tells them apart.
        size = list.length;
      } else if (list.length < size) {
        return;
      }
    }
  }

  /** One connection with its credentials and refresh token (`refresh_token=true`). */
  async connection(providerConfigKey: string, connectionId: string): Promise<Record<string, unknown>> {
    const body = await this.#get(`/connection/${encodeURIComponent(connectionId)}`, {
      provider_config_key: providerConfigKey,
      refresh_token: 'true',
    });
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new NangoApiError('GET /connection answered without a connection object', 200);
    }
    return body as Record<string, unknown>;
  }

  async #get(path: string, query: Record<string, string>): Promise<unknown> {
    const url = new URL(path.replace(/^\//, ''), this.#base.href.endsWith('/') ? this.#base : `${this.#base.href}/`);
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#once(url, path);
      } catch (error) {
        if (!(error instanceof NangoApiError) || !error.transient || attempt >= this.#retries) throw error;
        await sleep(500 * 2 ** attempt);
      }
    }
  }

  async #once(url: URL, path: string): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { authorization: `Bearer ${this.#secretKey}`, accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: unknown }; name?: string }).cause;
      const reason =
        (error as Error).name === 'TimeoutError'
          ? 'timed out'
          : typeof cause?.code === 'string'
            ? cause.code
            : 'failed';
      throw new NangoApiError(`GET ${path} ${reason}`, 0);
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      body = undefined;
    }
    if (response.ok) return body;
    throw new NangoApiError(`GET ${path} answered ${response.status}`, response.status, errorCodeOf(body));
  }
}

/** Nango's error code: `{ error: { code } }` (current API), `{ error: 'code' }` or `{ code }`. */
function errorCodeOf(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const { error, code } = body as { error?: unknown; code?: unknown };
  if (typeof error === 'string') return error;
  if (error !== null && typeof error === 'object' && typeof (error as { code?: unknown }).code === 'string') {
    return (error as { code: string }).code;
  }
  return typeof code === 'string' ? code : undefined;
}

/** The server's count of all connections, when its answer carries one (`total` or `pagination.total`). */
function totalOf(body: unknown): number | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const { total, pagination } = body as { total?: unknown; pagination?: { total?: unknown } | null };
  const value = total ?? (pagination !== null && typeof pagination === 'object' ? pagination.total : undefined);
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

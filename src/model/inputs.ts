/** What the public operations take: plain input shapes, checked by the operations themselves. */
import type { EndUser } from './connection.js';
import { InvalidRequestError } from './errors.js';
import type { JsonObject } from './json.js';

/** A connection to store: what `create`, `upsert` and `connect` take. */
export interface CreateConnectionInput {
  connectionId: string;
  providerConfigKey: string;
  /** A credential object with a `type`; see the README for each mode's fields. */
  credentials: Record<string, unknown>;
  connectionConfig?: JsonObject | undefined;
  metadata?: JsonObject | undefined;
  tags?: Record<string, string> | undefined;
  endUser?: EndUser | null | undefined;
  /** Where this connection's webhooks go instead of the sender's URL (a connect session's `webhook_url_override`). */
  webhookUrlOverride?: string | undefined;
}

/** What `manager.authorize` takes to start a connect flow. */
export interface AuthorizeInput {
  providerConfigKey: string;
  /** The connection to create (or re-authorize) when the user comes back. */
  connectionId: string;
  /** Where the provider sends the user back: your callback route. */
  redirectUri: string;
  /** Default: the integration's scopes, else the provider's default scopes. */
  scopes?: string[] | undefined;
  /** Fills the provider's URL templates (e.g. `subdomain`) and is stored on the connection. */
  connectionConfig?: JsonObject | undefined;
  /**
   * Who wrote `connectionConfig`. `end-user` (what the connect handler passes for `params[…]`)
   * accepts only the fields the provider declares and the user supplies: not the ones its
   * callback or token response bring (`instance_url`, `accounts-server`). Default `app`.
   */
  connectionConfigSource?: 'app' | 'end-user' | undefined;
  /**
   * A secret only the browser that starts the flow holds (the connect handler puts a random nonce
   * in an HttpOnly cookie). Stored hashed with the flow; the callback must then present the same
   * value (`handleCallback(query, { browserBinding })`), so a provider URL forwarded to someone
   * else cannot land their account on this connection.
   */
  browserBinding?: string | undefined;
  /** Extra authorization parameters for this request (e.g. `login_hint`). */
  authorizationParams?: Record<string, string> | undefined;
  /** Opaque data returned by `handleCallback` (and on `AuthorizationError`), e.g. where to send the user next. */
  appState?: JsonObject | undefined;
  /** Stored on the connection the callback creates (a connect session's end user); checked as `upsert` checks it. */
  endUser?: EndUser | null | undefined;
  /** Stored on the connection the callback creates (a connect session's tags). */
  tags?: Record<string, string> | undefined;
  /** Where this connection's auth webhooks go (a connect session's `webhook_url_override`), its creation webhook included. */
  webhookUrlOverride?: string | undefined;
}

/** Options of `manager.handleCallback`. */
export interface CallbackOptions {
  /** The value given as `browserBinding` to `authorize`, read back from the browser (its cookie). */
  browserBinding?: string | undefined;
  /**
   * Checked after the state and before the code is exchanged: whether the current user may
   * complete this flow (the connect handler re-runs `authorizeConnection` and requires the flow's
   * connection id). `false` refuses with an `AuthorizationError` and nothing is stored.
   */
  authorizeFlow?:
    | ((flow: {
        providerConfigKey: string;
        connectionId: string;
        appState?: JsonObject | undefined;
      }) => Promise<boolean> | boolean)
    | undefined;
}

/** Options of `manager.get`. */
export interface GetConnectionOptions {
  /** Needed only when the same connection id exists under several integrations. */
  providerConfigKey?: string | undefined;
  /** Refresh even if the credentials are still fresh (bypasses back-off and exhaustion). */
  forceRefresh?: boolean | undefined;
  /** Include refresh tokens in the result. Default false, as Nango. */
  refreshToken?: boolean | undefined;
}

/** A connection: its id alone when unambiguous, or with its integration. */
export type ConnectionRef = string | { connectionId: string; providerConfigKey?: string };

/** Which connections `manager.list` returns; every given filter must match. */
export interface ListConnectionsFilter {
  connectionId?: string | undefined;
  providerConfigKey?: string | undefined;
  /** Connections of any of these integrations (Nango's `integrationId`, comma-separated there). */
  providerConfigKeys?: string[] | undefined;
  /** Connections carrying all of these tags (keys compared case-insensitively). */
  tags?: Record<string, string> | undefined;
  /** Connections of this end user (`end_user.id`). */
  endUserId?: string | undefined;
  /** A case-insensitive part of the connection id, the end user's id or the end user's email. */
  search?: string | undefined;
  /**
   * Most connections in one page (1–2000). Without it, every match is returned, fetched from the
   * store a page at a time.
   */
  limit?: number | undefined;
  /** The `nextCursor` of the previous page (it remembers the order it was made in). */
  cursor?: string | undefined;
  /**
   * `'oldest'` (the default: creation order) or `'newest'` first, as Nango's `GET /connections`
   * lists them.
   */
  order?: 'oldest' | 'newest' | undefined;
  /**
   * Only connections whose refresh token lapses within the manager's `expiringWithinMs`, found
   * through the store's attention index; not combined with `search` or `cursor`.
   */
  expiring?: boolean | undefined;
}

/** One page of {@link ListConnectionsFilter} results. */
export interface ConnectionListPage<Item> {
  connections: Item[];
  /** Present when more connections match: pass it as `cursor` for the next page. */
  nextCursor?: string | undefined;
}

/** A {@link ConnectionRef} as `[connectionId, providerConfigKey?]`. */
export function refParts(ref: ConnectionRef): [string, string | undefined] {
  if (typeof ref === 'string') return [ref, undefined];
  if (ref === null || typeof ref !== 'object')
    throw new InvalidRequestError('expected a connection id', 'connectionId');
  return [ref.connectionId, ref.providerConfigKey];
}

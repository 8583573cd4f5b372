import { InvalidCredentialsError, InvalidRequestError } from '../model/errors.js';
import type { ResolvedIntegration } from '../providers/definition.js';
import type { ClientCertificate } from '../model/client-certificate.js';
import type { HttpSettings } from '../provider-http/http.js';
import type { JsonObject } from '../model/connection.js';
import { isPlainObject } from '../model/json.js';

/** What a strategy may consult when it checks or renews credentials. */
export interface StrategyContext {
  /** The connection's provider config key: what errors name, even when the integration is gone. */
  providerConfigKey: string;
  /** The connection's integration; `undefined` when the app no longer configures it. */
  integration: ResolvedIntegration | undefined;
  connectionConfig: JsonObject;
  /** Epoch milliseconds, from the manager's clock. */
  now: number;
  /** How long before expiry credentials count as due, for this connection. */
  marginMs: number;
  http: HttpSettings;
  /**
   * Reports that the authorization server refused a client the integration registered
   * (`invalid_client`): the stored registration is replaced so the next connect flow works.
   */
  clientRefused?(clientId: string): Promise<void>;
}

/** A request to sign, for modes whose credentials are per-request signatures or headers. */
export interface SignableRequest {
  method: string;
  url: string;
  /** An `application/x-www-form-urlencoded` body (OAuth 1.0 signs its parameters). */
  form?: URLSearchParams | Record<string, string> | string;
  /**
   * The body as it will be sent, for modes that sign its hash (AWS Signature V4); `form`, when
   * given, is the body. A stream cannot be hashed before it is sent: such modes refuse it.
   */
  body?: string | Uint8Array | ReadableStream<Uint8Array>;
  /** The `Content-Type` the request will be sent with, for modes that sign it (AWS Signature V4). */
  contentType?: string;
}

/** What a successful refresh produces. */
export interface RefreshOutcome<C> {
  credentials: C;
  /** Fields to merge into the connection's `connection_config`. */
  connectionConfig?: JsonObject;
}

/**
 * One auth mode. The manager knows nothing of any mode; it asks the strategy whether credentials
 * are well-formed, when they stop working and how to renew them. A strategy knows nothing of storage.
 */
export interface AuthStrategy<C extends { type: string }> {
  readonly mode: C['type'];
  /**
   * Checks caller-supplied credentials (already known to carry this mode's `type`) and returns
   * exactly what to store. Throws {@link InvalidCredentialsError} naming the offending field.
   */
  parse(input: Record<string, unknown>, context: StrategyContext): C;
  /** When these credentials stop working, in epoch milliseconds; `undefined` if they do not expire. */
  expiresAt(credentials: C): number | undefined;
  /** Whether a refresh is due at `now` given a margin before expiry. */
  isRefreshDue(credentials: C, now: number, marginMs: number): boolean;
  /** Whether these credentials carry what a refresh needs (e.g. a refresh token). */
  canRefresh(credentials: C): boolean;
  /**
   * What keeps unused credentials working: `refresh` — a grant providers let lapse when unused
   * (Google's refresh tokens after six months, Xero's after 60 days), so the background refresher
   * renews it now and then; `verify` — a secret that lives until revoked (keys, passwords,
   * signing keys, and tokens minted from them), so a health check asks the provider now and then
   * whether it still works. Default: `refresh` when the credentials can be refreshed, else `verify`.
   */
  readonly keepAlive?: 'refresh' | 'verify';
  /** Renews the credentials. Throws `ProviderError` when the provider refuses or fails. */
  refresh(credentials: C, context: StrategyContext): Promise<RefreshOutcome<C>>;
  /**
   * The credentials as `get` returns them (the seeds' schema for this mode), when the stored form
   * keeps more (e.g. the inputs of a token exchange). Default: as stored.
   */
  present?(credentials: C): object;
  /**
   * What `${credentials.x}` sees in the provider's API templates, when that is more than `present`
   * shows (TWO_STEP: the submitted inputs too, as Avanan's request signature needs its secret key).
   */
  templateCredentials?(credentials: C): object;
  /**
   * Fields this mode keeps in `connection_config` beside its credentials, merged in when the
   * connection is stored (AWS_SIGV4: the region and service the proxy's base URL reads, as Nango keeps them).
   */
  connectionConfigOf?(credentials: C): JsonObject;
  /** A TLS client certificate these credentials present to the provider (mutual TLS), if any. */
  clientCertificate?(credentials: C, integration: ResolvedIntegration | undefined): ClientCertificate | undefined;
  /** The bearer credential these credentials carry, if any: `${accessToken}` in proxy templates. */
  accessToken?(credentials: C): string | undefined;
  /** Named values this mode adds to the provider's proxy templates (API_KEY: `${apiKey}`). */
  templateValues?(credentials: C): Record<string, string | undefined>;
  /** Headers that authenticate one request, for modes that sign per request (OAuth 1.0, TBA, WSSE, Basic). */
  sign?(credentials: C, request: SignableRequest, context: StrategyContext): Record<string, string>;
}

/**
 * Self-minted credentials (signed JWTs, WSSE tokens) cost no network call, so they are re-minted
 * at most a minute before expiry instead of the manager's wide margin — a 5-minute token would
 * otherwise be re-minted on every read.
 */
export const SELF_MINTED_MARGIN_MS = 60_000;

/** Due when nothing was minted yet, or when the expiry is within the margin. */
export function mintDue(
  token: string | undefined,
  expiresAt: string | undefined,
  now: number,
  marginMs: number,
): boolean {
  if (!token) return true;
  return dueWithinMargin(expiresAt === undefined ? undefined : Date.parse(expiresAt), now, marginMs);
}

export function parseInstant(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Date.parse(value);
}

/** The timing of credentials that never expire and are never renewed (keys, passwords, OAuth 1.0 tokens). */
export function neverExpires<C>(): Pick<
  AuthStrategy<C & { type: string }>,
  'expiresAt' | 'isRefreshDue' | 'canRefresh' | 'refresh'
> {
  return {
    expiresAt: () => undefined,
    isRefreshDue: () => false,
    canRefresh: () => false,
    refresh: async (credentials) => ({ credentials }),
  };
}

/**
 * The timing of credentials Latchkey mints itself from what is stored (signed JWTs, session
 * logins, client-credentials tokens): due when nothing is minted yet or the stored `expires_at`
 * is within the margin — capped at {@link SELF_MINTED_MARGIN_MS} for locally signed ones.
 */
export function mintedUntilExpiry<C extends { expires_at?: string }>(
  mintedValue: (credentials: C) => string | undefined,
  options: { locallySigned?: boolean } = {},
): Pick<AuthStrategy<C & { type: string }>, 'expiresAt' | 'isRefreshDue' | 'canRefresh' | 'keepAlive'> {
  return {
    // Minting again keeps nothing alive: the stored secret lives until revoked.
    keepAlive: 'verify',
    expiresAt: (credentials) => parseInstant(credentials.expires_at),
    isRefreshDue: (credentials, now, marginMs) =>
      mintDue(
        mintedValue(credentials),
        credentials.expires_at,
        now,
        options.locallySigned ? Math.min(marginMs, SELF_MINTED_MARGIN_MS) : marginMs,
      ),
    canRefresh: () => true,
  };
}

/** The usual rule: due once the expiry is within the margin; never for credentials that do not expire. */
export function dueWithinMargin(expiresAt: number | undefined, now: number, marginMs: number): boolean {
  return expiresAt !== undefined && expiresAt - marginMs <= now;
}

/**
 * Epoch milliseconds below this (1e11: 3 March 1973) are taken for epoch seconds and refused; in
 * seconds, 1e11 is the year 5138.
 */
export const EPOCH_SECONDS_LIMIT = 1e11;

/** Field checks shared by the strategies' `parse`. */
export const field = {
  /** Rejects keys the mode's schema does not define, so what `get` returns always matches it. */
  onlyKnown(input: Record<string, unknown>, allowed: readonly string[]): void {
    for (const key of Object.keys(input)) {
      if (!allowed.includes(key)) {
        throw new InvalidCredentialsError(
          `credentials.${key} is not a field of ${String(input.type)} credentials`,
          `credentials.${key}`,
        );
      }
    }
  },
  requiredString(input: Record<string, unknown>, name: string): string {
    const value = input[name];
    if (typeof value !== 'string' || value.length === 0) {
      throw new InvalidCredentialsError(`credentials.${name} must be a non-empty string`, `credentials.${name}`);
    }
    return value;
  },
  optionalString(input: Record<string, unknown>, name: string): string | undefined {
    return input[name] === undefined ? undefined : field.requiredString(input, name);
  },
  /**
   * An instant given as an ISO 8601 string, a Date or epoch milliseconds; returned as ISO 8601. A
   * number below {@link EPOCH_SECONDS_LIMIT} is refused: read as milliseconds it is a moment in
   * 1970–1973, so it is almost surely epoch seconds (what OAuth responses and JWTs count in), and
   * guessing would silently accept both units.
   */
  optionalInstant(input: Record<string, unknown>, name: string): string | undefined {
    const value = input[name];
    if (value === undefined) return undefined;
    if (typeof value === 'number' && Math.abs(value) < EPOCH_SECONDS_LIMIT) {
      throw new InvalidCredentialsError(
        `credentials.${name} looks like epoch seconds (${value}); give epoch milliseconds ` +
          `(seconds × 1000), an ISO 8601 string or a Date`,
        `credentials.${name}`,
      );
    }
    const time =
      value instanceof Date
        ? value.getTime()
        : typeof value === 'string' || typeof value === 'number'
          ? new Date(value).getTime()
          : Number.NaN;
    if (!Number.isFinite(time)) {
      throw new InvalidCredentialsError(
        `credentials.${name} must be an ISO 8601 date-time, a Date or epoch milliseconds`,
        `credentials.${name}`,
      );
    }
    return new Date(time).toISOString();
  },
  /** `expires_in` (seconds from `now`, a number or numeric text) as an ISO 8601 instant; `undefined` when absent. */
  optionalLifetimeEnd(input: Record<string, unknown>, now: number): string | undefined {
    const value = input.expires_in;
    if (value === undefined) return undefined;
    const seconds = typeof value === 'string' ? Number(value) : value;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
      throw new InvalidCredentialsError('credentials.expires_in must be a number of seconds', 'credentials.expires_in');
    }
    return new Date(now + seconds * 1000).toISOString();
  },
  /** A required field of the connection's `connection_config` (a string, or a number kept as text). */
  requiredConfig(context: StrategyContext, name: string): string {
    const value = context.connectionConfig[name];
    if ((typeof value !== 'string' || value === '') && typeof value !== 'number') {
      throw new InvalidRequestError(
        `connectionConfig.${name} is required for this auth mode`,
        `connectionConfig.${name}`,
      );
    }
    return String(value);
  },

  /** A key that must be able to sign (PEM or `{ id, secret }`). */
  signingKey(input: Record<string, unknown>, name: string, check: (key: unknown) => void): void {
    try {
      check(input[name]);
    } catch (error) {
      throw new InvalidCredentialsError(`credentials.${name} ${(error as Error).message}`, `credentials.${name}`);
    }
  },
  /** The optional `raw` object, `{}` when absent. */
  raw(input: Record<string, unknown>): JsonObject {
    return (field.optionalObject(input, 'raw') as JsonObject | undefined) ?? {};
  },
  optionalObject(input: Record<string, unknown>, name: string): Record<string, unknown> | undefined {
    const value = input[name];
    if (value === undefined) return undefined;
    if (!isPlainObject(value)) {
      throw new InvalidCredentialsError(`credentials.${name} must be an object`, `credentials.${name}`);
    }
    return value as Record<string, unknown>;
  },
};

/** The TLS client certificate to present for these credentials: their own, else the integration's. */
export function clientCertificateFor<C extends { type: string }>(
  strategy: AuthStrategy<C>,
  credentials: C,
  integration: ResolvedIntegration | undefined,
): ClientCertificate | undefined {
  return strategy.clientCertificate
    ? strategy.clientCertificate(credentials, integration)
    : integration?.clientCertificate;
}

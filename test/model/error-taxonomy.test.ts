/**
 * The error taxonomy: one union whose `code` narrows to the class, one row of traits per code, and
 * docs/errors.md saying what that table says.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { EXIT_CODES } from '../../src/cli/exit-codes.js';
import { ERROR_TRAITS, traitsOf } from '../../src/model/error-traits.js';
import {
  AccessTokenExpiredError,
  AmbiguousConnectionError,
  type AnyLatchkeyError,
  AuthorizationError,
  ConcurrentModificationError,
  DecryptionError,
  DisallowedHostError,
  RateLimitedError,
  DuplicateConnectionError,
  EncryptionRequiredError,
  InsecureRequestError,
  McpDiscoveryError,
  IntegrationError,
  InvalidConnectSessionError,
  InvalidCredentialsError,
  InvalidIntegrationError,
  InvalidRequestError,
  InvalidStateError,
  InvalidTemplateError,
  isLatchkeyError,
  LatchkeyError,
  type LatchkeyErrorCode,
  type LatchkeyErrorOf,
  MissingTemplateValueError,
  ProviderError,
  RefreshBackoffError,
  RefreshExhaustedError,
  RefreshLockTimeoutError,
  StorageError,
  UnknownConnectionError,
  UnknownEncryptionKeyError,
  UnknownIntegrationError,
} from '../../src/model/errors.js';
import * as latchkey from '../../src/index.js';

type Cause = { cause: unknown };

/** One way to build each error, with a cause; the mapped type refuses a code left out. */
const SAMPLES: { [C in LatchkeyErrorCode]: Array<(options: Cause) => LatchkeyErrorOf<C>> } = {
  invalid_request: [(o) => new InvalidRequestError('bad', 'connectionId', o)],
  invalid_credentials: [(o) => new InvalidCredentialsError('bad', 'credentials.access_token', o)],
  unknown_integration: [(o) => new UnknownIntegrationError('k', o)],
  invalid_integration: [(o) => new InvalidIntegrationError('k', 'clientId', 'is missing', o)],
  unknown_connection: [(o) => new UnknownConnectionError('c', 'k', o)],
  ambiguous_connection: [(o) => new AmbiguousConnectionError('c', ['a', 'b'], o)],
  duplicate_connection: [(o) => new DuplicateConnectionError('c', 'k', o)],
  concurrent_modification: [(o) => new ConcurrentModificationError('lost', o)],
  access_token_expired: [(o) => new AccessTokenExpiredError('c', '2020-01-01T00:00:00.000Z', o)],
  refresh_backoff: [(o) => new RefreshBackoffError('c', '2020-01-01T00:00:00.000Z', 'log', o)],
  refresh_exhausted: [(o) => new RefreshExhaustedError('c', 'invalid_grant', 'log', o)],
  refresh_lock_timeout: [(o) => new RefreshLockTimeoutError('busy', o)],
  provider_error: [
    (o) => new ProviderError({ kind: 'permanent', error: 'invalid_grant', status: 400, ...o }),
    (o) => new ProviderError({ kind: 'transient', error: 'network_error', host: 'idp.example:443', ...o }),
    (o) => new ProviderError({ kind: 'transient', error: 'timeout', host: 'idp.example', ...o }),
    (o) => new ProviderError({ kind: 'transient', error: 'server_error', status: 503, ...o }),
    (o) => new ProviderError({ kind: 'transient', error: 'rate_limited', status: 429, retryAfterSeconds: 5, ...o }),
  ],
  missing_template_value: [(o) => new MissingTemplateValueError('connectionConfig.tenant', o)],
  invalid_template: [(o) => new InvalidTemplateError('bad template', o)],
  insecure_request: [(o) => new InsecureRequestError('http', o)],
  disallowed_host: [(o) => new DisallowedHostError('evil.example', 'connectionConfig.hostname', 'not allowed', o)],
  rate_limited: [(o) => new RateLimitedError('crm', 1500, o)],
  unknown_encryption_key: [(o) => new UnknownEncryptionKeyError('k-1', 'connection:a', o)],
  decryption_failed: [(o) => new DecryptionError('altered', o)],
  encryption_required: [(o) => new EncryptionRequiredError('no key', o)],
  invalid_state: [(o) => new InvalidStateError('stale', o)],
  invalid_connect_session: [
    (o) => new InvalidConnectSessionError('format', o),
    (o) => new InvalidConnectSessionError('unknown', o),
  ],
  authorization_failed: [(o) => new AuthorizationError('access_denied', 'denied', undefined, o)],
  storage_error: [
    (o) => new StorageError('down', { ...o, transient: true }),
    (o) => new StorageError('unreadable', { ...o, transient: false }),
  ],
  integration_error: [(o) => new IntegrationError('k', 'invalid_client', 'log', o)],
  mcp_discovery_refused: [(o) => new McpDiscoveryError('issuer_mismatch', 'issuer differs', o)],
};

const codes = Object.keys(SAMPLES) as LatchkeyErrorCode[];
const samples = codes.flatMap((code) => SAMPLES[code].map((make) => make({ cause: new Error(`under ${code}`) })));

describe('the union', () => {
  it('narrows to the class on `switch (error.code)` (checked by tsc)', () => {
    function detail(error: AnyLatchkeyError): string {
      switch (error.code) {
        case 'refresh_backoff':
          return error.retryAt;
        case 'provider_error':
          return `${error.refused} ${error.host ?? ''}`;
        case 'storage_error':
          return String(error.transient);
        case 'invalid_integration':
          return error.field;
        default:
          return error.code;
      }
    }
    expectTypeOf<AnyLatchkeyError['code']>().toEqualTypeOf<LatchkeyErrorCode>();
    expectTypeOf<LatchkeyErrorOf<'refresh_backoff'>>().toEqualTypeOf<RefreshBackoffError>();
    expectTypeOf(new RefreshLockTimeoutError('x').code).toEqualTypeOf<'refresh_lock_timeout'>();
    expect(detail(new RefreshBackoffError('c', '2030-01-01T00:00:00.000Z'))).toBe('2030-01-01T00:00:00.000Z');
    expect(detail(new InvalidIntegrationError('k', 'clientId', 'is missing'))).toBe('clientId');
  });

  it('every class has its literal code on the class and the instance, and passes `cause` through', () => {
    for (const error of samples) {
      expect(isLatchkeyError(error)).toBe(true);
      expect((error.constructor as unknown as { code: string }).code).toBe(error.code);
      expect(error.name).toBe(error.constructor.name);
      expect((error.cause as Error).message).toBe(`under ${error.code}`);
      expect(Object.keys(error.toJSON())).not.toContain('cause');
    }
    expect(new Set(samples.map((e) => e.code))).toEqual(new Set(Object.keys(ERROR_TRAITS)));
  });

  it('the base class is abstract (checked by tsc) and has no code of its own', () => {
    // @ts-expect-error LatchkeyError is abstract: only its subclasses are thrown.
    const build = () => new LatchkeyError('x');
    void build;
    expect(Object.hasOwn(LatchkeyError, 'code')).toBe(false);
  });

  it('exports exactly one class per code from the package', () => {
    const exported = Object.values(latchkey).filter(
      (value): value is typeof LatchkeyError & { code: string } =>
        typeof value === 'function' && value.prototype instanceof LatchkeyError,
    );
    expect(exported.map((cls) => cls.code).sort()).toEqual([...codes].sort());
    expect(latchkey.isLatchkeyError(new Error('plain'))).toBe(false);
  });
});

describe('the trait table', () => {
  it('gives every error a 4xx or 5xx status and a code; only the operator’s faults are logged, as 500s', () => {
    for (const error of samples) {
      const { http, exit } = traitsOf(error);
      expect(http.status).toBeGreaterThanOrEqual(400);
      expect(http.status).toBeLessThan(600);
      expect(http.code).toMatch(/^[a-z_]+$/);
      expect(http.code).not.toBe('server_error');
      if (http.log) expect(http.status).toBe(500);
      expect(EXIT_CODES[exit]).toBeGreaterThan(0);
    }
  });

  it('a provider that did not answer is not a refusal: 5xx naming the host; a refusal is Nango’s 400', () => {
    const [refusal, unreachable, timeout, failing, limited] = SAMPLES.provider_error.map((make) =>
      make({ cause: undefined }),
    );
    expect(refusal?.refused).toBe(true);
    expect(traitsOf(refusal as ProviderError).http).toMatchObject({
      status: 400,
      code: 'refresh_token_external_error',
    });
    for (const error of [unreachable, timeout, failing, limited] as ProviderError[]) {
      expect(error.refused).toBe(false);
      expect(error.message).not.toContain('refused');
      expect(traitsOf(error).transient).toBe(true);
      expect(traitsOf(error).http.message ?? '').not.toContain('refused');
    }
    expect(traitsOf(unreachable as ProviderError).http).toMatchObject({ status: 502, code: 'provider_unavailable' });
    expect(traitsOf(unreachable as ProviderError).http.message).toContain('idp.example:443');
    expect(traitsOf(timeout as ProviderError).http).toMatchObject({ status: 504, code: 'provider_timeout' });
    expect(traitsOf(failing as ProviderError).http).toMatchObject({ status: 502, code: 'provider_unavailable' });
    expect(traitsOf(limited as ProviderError).http).toMatchObject({
      status: 503,
      fields: { retry_after_seconds: 5 },
    });
    expect(traitsOf(refusal as ProviderError).transient).toBe(false);
  });
});

describe('docs/errors.md', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Statuses, exit codes and retries'), doc.indexOf('## HTTP API and'));
  const rows = new Map(
    section
      .split('\n')
      .map((line) => line.split('|').map((cell) => cell.trim()))
      .filter((cells) => /^`[a-z_]+`$/.test(cells[1] ?? ''))
      .map((cells) => [(cells[1] ?? '').slice(1, -1), cells.slice(2, 7)] as const),
  );

  it('has one row per code, saying the table’s status, HTTP code, exit code and retry', () => {
    expect(new Set(rows.keys())).toEqual(new Set(codes));
    for (const error of samples) {
      const [status = '', httpCode = '', exit = '', transient = ''] = rows.get(error.code) ?? [];
      const traits = traitsOf(error);
      expect(status, error.code).toContain(String(traits.http.status));
      expect(httpCode, error.code).toContain(`\`${traits.http.code}\``);
      expect(exit, error.code).toBe(String(EXIT_CODES[traits.exit]));
      const row = ERROR_TRAITS[error.code];
      if (typeof row.transient === 'boolean') expect(transient, error.code).toBe(row.transient ? 'yes' : 'no');
      else expect(transient, error.code).toMatch(/^when /);
    }
  });
});

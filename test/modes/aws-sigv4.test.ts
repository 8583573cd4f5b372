/**
 * AWS_SIGV4 against the local STS stand-in (test/support/sts-server.ts), which recomputes every
 * signature with aws4: the AssumeRole call itself, and the API requests made with what it issued.
 * Nango's own catalog entry (`aws-sigv4`) is the provider.
 */
import { randomBytes } from 'node:crypto';
import aws4 from 'aws4';
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import type { AwsRoleAssumption, ConnectionManager, IntegrationConfig } from '../../src/index.js';
import { type TestClock, testClock, testManager } from '../support/manager.js';
import { nangoEntry } from '../support/nango.js';
import { testScope } from '../support/scope.js';
import { LONG_LIVED, startAws, type StsOptions } from '../support/sts-server.js';
import { strategySuite } from './strategy-suite.js';

const { defer } = testScope();

const ROLE = 'arn:aws:iam::123456789012:role/LatchkeyAccess';
const EXTERNAL_ID = 'ext-7f3a2c';

interface Setup {
  clock?: TestClock;
  /** Overrides of the integration's `aws` block, given the stand-in's URL. */
  aws?: Partial<AwsRoleAssumption> | ((url: string) => Partial<AwsRoleAssumption>);
  sts?: StsOptions;
  service?: string;
}

async function setup({ clock = testClock(), aws: overrides = {}, sts = {}, service = 's3' }: Setup = {}) {
  const store = memoryStore();
  const aws = await startAws({ now: clock, ...sts });
  defer(() => aws.close());
  const integration = (name: string): IntegrationConfig => ({
    provider: 'aws-sigv4',
    aws: {
      service: name,
      defaultRegion: 'eu-west-1',
      accessKeyId: LONG_LIVED.accessKeyId,
      secretAccessKey: LONG_LIVED.secretAccessKey,
      stsEndpointUrl: `${aws.url}/`,
      ...(typeof overrides === 'function' ? overrides(aws.url) : overrides),
    },
    // The proxy's base URL is `https://<service>.<region>.amazonaws.com`; the stand-in serves the API locally.
    definition: { proxy: { baseUrl: `${aws.url}/api/${name}` } },
  });
  const manager = testManager({
    providers: { 'aws-sigv4': nangoEntry('aws-sigv4') },
    integrations: { aws: integration(service), 'aws-api': integration('execute-api') },
    clock,
    store,
    encryptionKey: randomBytes(32).toString('base64'),
  });
  return { aws, manager, clock, store };
}

const input = (extra: Record<string, unknown> = {}) => ({
  connectionId: 'acme',
  providerConfigKey: 'aws',
  credentials: { type: 'AWS_SIGV4', role_arn: ROLE, external_id: EXTERNAL_ID, ...extra },
});

type Keys = { access_key_id: string; secret_access_key: string; session_token: string; expires_at: string };
const keysOf = async (manager: ConnectionManager, id = 'acme') =>
  (await manager.get(id)).credentials as unknown as Keys;

describe('AWS_SIGV4: role assumption through STS', () => {
  it('connect assumes the role with a SigV4-signed AssumeRole (the ExternalId included) and stores the temporary keys sealed', async () => {
    const { aws, manager, store } = await setup();
    await manager.connect({ ...input(), connectionConfig: { region: 'us-east-2' } });
    const connection = await manager.get('acme');
    const stored = JSON.stringify(await store.scan('', { limit: 100 }));
    const { secret_access_key: secret, session_token: token } = connection.credentials as unknown as Keys;
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(token);
    expect(connection.credentials).toMatchObject({
      type: 'AWS_SIGV4',
      role_arn: ROLE,
      region: 'us-east-2',
      service: 's3',
      external_id: EXTERNAL_ID,
      access_key_id: expect.stringMatching(/^ASIA/),
      session_token: expect.stringMatching(/^FwoG/),
      raw: { assumed_role_arn: expect.stringContaining('assumed-role/LatchkeyAccess/latchkey-') },
    });
    // Where the proxy's base URL reads them, as Nango keeps them.
    expect(connection.connection_config).toMatchObject({ region: 'us-east-2', service: 's3', role_arn: ROLE });
    expect(aws.assumeCalls.every((call) => call.action === 'AssumeRole' && call.externalId === EXTERNAL_ID)).toBe(true);
    expect(aws.assumeCalls.map((call) => call.region)).toContain('us-east-2');
  });

  it('a wrong signature is refused by STS: a typed error naming SignatureDoesNotMatch, nothing stored, no secret in it', async () => {
    const { aws, manager } = await setup({ aws: { secretAccessKey: 'not-the-secret-of-this-key-000000000000' } });
    const error = (await manager.connect(input()).catch((e: unknown) => e)) as { code: string; message: string };
    expect(error.code).toBe('authorization_failed');
    expect(error.message).toContain('SignatureDoesNotMatch');
    expect(JSON.stringify(error)).not.toContain('not-the-secret');
    expect((await manager.list()).connections).toEqual([]);
    expect(aws.issued.size).toBe(0);
  });

  it('a role that does not trust the app (or a wrong external id) is a permanent refusal; a throttle is transient', async () => {
    const { aws, manager } = await setup();
    await manager.create(input({ external_id: 'ext-wrong' }));
    const denied = await manager.get('acme').catch((e: unknown) => e);
    expect(denied).toMatchObject({ code: 'refresh_exhausted', providerError: 'AccessDenied' });

    aws.mode.throttle = true;
    await manager.create({ ...input(), connectionId: 'busy' });
    const throttled = await manager.get('busy').catch((e: unknown) => e);
    expect(throttled).toMatchObject({ code: 'provider_error', kind: 'transient', error: 'Throttling' });
  });

  it('refreshes the temporary keys before they lapse, once for concurrent readers (the manager clock, no sleep)', async () => {
    const clock = testClock();
    const { aws, manager } = await setup({ clock });
    await manager.create(input());
    const first = await keysOf(manager);
    expect(Date.parse(first.expires_at) - clock()).toBe(3600_000);
    clock.advance(44 * 60_000); // 16 minutes left: outside the 15-minute margin
    expect((await keysOf(manager)).access_key_id).toBe(first.access_key_id);
    clock.advance(2 * 60_000); // 14 minutes left
    const readers = await Promise.all(Array.from({ length: 8 }, () => keysOf(manager)));
    const second = readers[0] as Keys;
    expect(second.access_key_id).not.toBe(first.access_key_id);
    expect(new Set(readers.map((keys) => keys.session_token)).size).toBe(1);
    expect(aws.assumeCalls).toHaveLength(2);
    // The old keys still work until their expiry; the new ones from now.
    expect(aws.issued.get(second.access_key_id)?.sessionToken).toBe(second.session_token);
  });

  it('signs S3 and execute-api requests with the session token, byte for byte as aws4 does (manager.fetch)', async () => {
    const { aws, manager } = await setup();
    await manager.create(input());
    await manager.create({ ...input(), connectionId: 'api', providerConfigKey: 'aws-api' });
    const s3Get = await manager.fetch('acme', '/my-bucket/photos/2024/a b+c.jpg?list-type=2&prefix=x');
    const s3Put = await manager.fetch('acme', '/my-bucket/notes.txt', {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: 'hello, bucket',
    });
    const api = await manager.fetch('api', '/prod/orders/42', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ qty: 2 }),
    });
    const bytes = await manager.fetch('api', '/prod/blob', { method: 'PUT', body: new Uint8Array([0, 255, 7, 128]) });
    expect([s3Get.status, s3Put.status, api.status, bytes.status]).toEqual([200, 200, 200, 200]);
    expect(aws.apiRequests.map((request) => [request.service, request.status])).toEqual([
      ['s3', 200],
      ['s3', 200],
      ['execute-api', 200],
      ['execute-api', 200],
    ]);
    for (const request of aws.apiRequests) expect(request.headers['x-amz-security-token']).toMatch(/^FwoG/);
    expect(aws.apiRequests[1]?.headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('signRequest gives the headers aws4 computes for the same request with the same temporary keys', async () => {
    const { manager, clock } = await setup();
    await manager.create(input());
    const keys = await keysOf(manager);
    const url = 'https://my-bucket.s3.eu-west-1.amazonaws.com/reports/q1.csv?versionId=3';
    const body = 'a,b\n1,2\n';
    const headers = await manager.signRequest('acme', { method: 'PUT', url, body, contentType: 'text/csv' });
    const amzDate = new Date(clock()).toISOString().replace(/[:-]|\.\d{3}/g, '');
    const oracle = aws4.sign(
      {
        method: 'PUT',
        host: 'my-bucket.s3.eu-west-1.amazonaws.com',
        path: '/reports/q1.csv?versionId=3',
        headers: { 'Content-Type': 'text/csv', 'X-Amz-Date': amzDate },
        body,
        service: 's3',
        region: 'eu-west-1',
        extraHeadersToIgnore: { 'content-length': true },
      } as aws4.Request,
      { accessKeyId: keys.access_key_id, secretAccessKey: keys.secret_access_key, sessionToken: keys.session_token },
    ).headers as Record<string, string>;
    expect(headers.Authorization).toBe(oracle.Authorization);
    expect(headers['x-amz-security-token']).toBe(keys.session_token);
    expect(headers['x-amz-date']).toBe(amzDate);
  });

  it('custom STS mode: the operator endpoint with an API key, and with HTTP Basic; a wrong key stores nothing', async () => {
    for (const [auth, sts] of [
      [
        { type: 'api_key', header: 'X-Sts-Key', apiKey: 'sts-key-1' },
        { custom: { apiKey: { header: 'X-Sts-Key', value: 'sts-key-1' } } },
      ],
      [
        { type: 'basic', username: 'latchkey', password: 'sts-pass-1' },
        { custom: { basic: { username: 'latchkey', password: 'sts-pass-1' } } },
      ],
    ] as const) {
      const ok = await setup({
        aws: (url) => ({ stsMode: 'custom', stsEndpointUrl: `${url}/custom`, stsAuth: auth }),
        sts,
      });
      const { manager } = ok;
      await manager.connect(input());
      expect(ok.aws.customCalls.at(-1)).toEqual({
        role_arn: ROLE,
        external_id: EXTERNAL_ID,
        region: 'eu-west-1',
        service: 's3',
      });
      const keys = await keysOf(manager);
      expect(Date.parse(keys.expires_at)).toBe(Math.floor((ok.clock() + 3600_000) / 1000) * 1000);
      expect((await manager.fetch('acme', '/bucket/key')).status).toBe(200);

      const wrong = testManager({
        providers: { 'aws-sigv4': nangoEntry('aws-sigv4') },
        integrations: {
          aws: {
            provider: 'aws-sigv4',
            aws: {
              service: 's3',
              defaultRegion: 'eu-west-1',
              stsMode: 'custom',
              stsEndpointUrl: `${ok.aws.url}/custom`,
              stsAuth: auth.type === 'api_key' ? { ...auth, apiKey: 'wrong-key' } : { ...auth, password: 'wrong-pass' },
            },
          },
        },
      });
      const refused = await wrong.connect(input()).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'authorization_failed' });
      expect(JSON.stringify(refused)).not.toMatch(/wrong-key|wrong-pass/);
      expect((await wrong.list()).connections).toEqual([]);
    }
  });

  it('refuses a role ARN, region or external id of the wrong form, naming the field; nothing is sent or stored', async () => {
    const { aws, manager } = await setup();
    const cases: Array<[Record<string, unknown>, Record<string, unknown>, string]> = [
      [{ role_arn: 'arn:aws:iam::123:user/bob' }, {}, 'credentials.role_arn'],
      [{}, { region: '169.254.169.254#' }, 'connectionConfig.region'],
      [{ region: 'us-east-1.evil.example' }, {}, 'credentials.region'],
      [{ external_id: 'x' }, {}, 'credentials.external_id'],
    ];
    for (const [credentials, connectionConfig, field] of cases) {
      const error = await manager.connect({ ...input(credentials), connectionConfig }).catch((e: unknown) => e);
      expect(error).toMatchObject({ field });
    }
    expect(aws.assumeCalls).toEqual([]);
    expect((await manager.list()).connections).toEqual([]);
  });

  it("takes a connection in Nango's stored shape (keys, session token, expiry) and uses it until the margin, without STS", async () => {
    const { aws, manager, clock } = await setup();
    const keys = {
      access_key_id: 'ASIAIMPORTED0000',
      secret_access_key: 'imported-secret-0000000000000000000000',
      session_token: 'FwoGimported',
      expires_at: new Date(clock() + 50 * 60_000).toISOString(),
    };
    await manager.create(
      input({ region: 'ap-southeast-2', service: 's3', ...keys, raw: { access_key_id: keys.access_key_id } }),
    );
    expect((await manager.get('acme')).credentials).toMatchObject({ ...keys, region: 'ap-southeast-2' });
    expect(aws.assumeCalls).toEqual([]);
    clock.advance(40 * 60_000);
    expect((await keysOf(manager)).access_key_id).toMatch(/^ASIA(?!IMPORTED)/);
    expect(aws.assumeCalls).toHaveLength(1);
  });

  it('an integration whose aws block is incomplete is refused when the manager is built, naming the field', () => {
    const build = (aws: unknown) => () =>
      testManager({
        providers: { 'aws-sigv4': nangoEntry('aws-sigv4') },
        integrations: { aws: { provider: 'aws-sigv4', aws: aws as AwsRoleAssumption } },
      });
    expect(build({ service: 's3' })).toThrow(expect.objectContaining({ field: 'aws.accessKeyId' }));
    expect(build({ service: 's3', stsMode: 'custom' })).toThrow(
      expect.objectContaining({ field: 'aws.stsEndpointUrl' }),
    );
    expect(build({ service: 'S3!', accessKeyId: 'a', secretAccessKey: 'b' })).toThrow(
      expect.objectContaining({ field: 'aws.service' }),
    );
    expect(build({ service: 's3', accessKeyId: 'a', secretAccessKey: 'b', durationSeconds: 60 })).toThrow(
      expect.objectContaining({ field: 'aws.durationSeconds' }),
    );
  });
});

strategySuite(
  'AWS_SIGV4',
  async () => {
    const { aws, manager } = await setup();
    return {
      manager,
      input: input(),
      async verify(connection) {
        const keys = connection.credentials as unknown as Keys;
        const signed = aws4.sign(
          {
            method: 'GET',
            host: new URL(aws.url).host,
            path: '/api/s3/bucket/key',
            service: 's3',
            region: 'eu-west-1',
          },
          {
            accessKeyId: keys.access_key_id,
            secretAccessKey: keys.secret_access_key,
            sessionToken: keys.session_token,
          },
        );
        const response = await fetch(`${aws.url}/api/s3/bucket/key`, {
          headers: signed.headers as Record<string, string>,
        });
        expect(response.status).toBe(200);
      },
      close: async () => {},
    };
  },
  [
    ['a missing role ARN', { type: 'AWS_SIGV4' }, 'credentials.role_arn'],
    [
      'a user ARN for a role ARN',
      { type: 'AWS_SIGV4', role_arn: 'arn:aws:iam::123456789012:user/x' },
      'credentials.role_arn',
    ],
    [
      'half of the temporary keys',
      { type: 'AWS_SIGV4', role_arn: ROLE, access_key_id: 'ASIAX' },
      'credentials.secret_access_key',
    ],
  ],
);

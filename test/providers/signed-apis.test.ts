import { createHash, generateKeyPairSync } from 'node:crypto';
import aws4 from 'aws4';
import { describe, expect, it } from 'vitest';
import { type IntegrationConfig, type ProviderDefinition } from '../../src/index.js';
import { startClientCredentialsServer } from '../support/token-server.js';
import { testScope } from '../support/scope.js';
import {
  type SignedApi,
  startAvanan,
  startAwsService,
  startDuoAdminApi,
  startSageIntacct,
  startStreamlineApi,
  startTripletex,
  startZoomInfo,
  startApi,
} from '../support/signed-apis.js';
import { nangoEntry } from '../support/nango.js';

/**
 * Nango's entries whose requests are signed or exchanged through its template functions, run as
 * imported — only the hosts are pointed at local stand-ins that check what the real API checks.
 */
const scope = testScope();

async function serve<T extends SignedApi>(started: Promise<T>): Promise<T> {
  const api = await started;
  scope.defer(() => api.close());
  return api;
}

/** The entry with its API (and token endpoint, for TWO_STEP) on a local server. */
function local(name: string, baseUrl: string, tokenPath?: string): IntegrationConfig {
  const definition = nangoEntry(name);
  const twoStep = definition.twoStep;
  return {
    provider: name,
    definition: {
      ...definition,
      proxy: { ...(definition.proxy as NonNullable<ProviderDefinition['proxy']>), baseUrl },
      ...(twoStep && tokenPath
        ? { twoStep: { ...twoStep, tokenRequest: { ...twoStep.tokenRequest, url: `${baseUrl}${tokenPath}` } } }
        : {}),
    },
  };
}

describe('AWS SigV4 (aws-multi-service, aws-iam)', () => {
  const account = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

  it('signs GETs with a query and form POSTs as the AWS service checks them', async () => {
    const aws = await serve(startAwsService({ ...account, region: 'eu-west-1', service: 'athena' }));
    const manager = scope.managerWith({ aws: local('aws-multi-service', aws.url) });
    await manager.create({
      connectionId: 'acct',
      providerConfigKey: 'aws',
      credentials: { type: 'BASIC', username: account.accessKeyId, password: account.secretAccessKey },
      connectionConfig: { service: 'athena', region: 'eu-west-1' },
    });
    const get = await manager.fetch('acct', '/?Version=2010-05-08&Action=ListUsers&Marker=a b');
    const post = await manager.fetch('acct', '/', {
      method: 'POST',
      body: new URLSearchParams({ Action: 'CreateUser', UserName: 'alice', Version: '2010-05-08' }),
    });
    expect(aws.refusals).toEqual([]);
    expect([get.status, post.status]).toEqual([200, 200]);
    expect(aws.accepted[1]?.headers.authorization).toContain('SignedHeaders=content-type;host;x-amz-date');
  });

  it('signs S3 requests with temporary credentials as S3 checks them: path encoded once, payload hash and session token sent and signed', async () => {
    const sessionToken = 'FwoGZXIvYXdzEXAMPLE//session+token/with=padding==';
    // The stand-in recomputes the signature with aws4 from the request as it arrived.
    const s3 = await serve(
      startApi((request) => {
        const authorization = String(request.headers.authorization ?? '');
        const signed = (/SignedHeaders=([a-z0-9;-]+)/.exec(authorization)?.[1] ?? '').split(';');
        const headers = Object.fromEntries(signed.map((name) => [name, String(request.headers[name] ?? '')]));
        const expected = aws4.sign(
          {
            method: request.method,
            path: request.target,
            headers,
            body: request.bytes,
            service: 's3',
            region: 'eu-west-1',
            extraHeadersToIgnore: { 'content-length': true, 'content-type': !signed.includes('content-type') },
          } as aws4.Request,
          { ...account, sessionToken },
        ).headers?.Authorization;
        const refusals = [
          authorization === expected ? undefined : 'SignatureDoesNotMatch',
          headers['x-amz-security-token'] === sessionToken ? undefined : 'InvalidToken',
          headers['x-amz-content-sha256'] === createHash('sha256').update(request.bytes).digest('hex')
            ? undefined
            : 'XAmzContentSHA256Mismatch',
        ].filter(Boolean);
        return refusals.length > 0
          ? { status: 403, body: JSON.stringify({ error: refusals.join(', ') }) }
          : { status: 200, body: '{}' };
      }),
    );
    const manager = scope.managerWith({ s3: local('aws-multi-service', s3.url) });
    await manager.create({
      connectionId: 'bucket',
      providerConfigKey: 's3',
      credentials: { type: 'BASIC', username: account.accessKeyId, password: account.secretAccessKey, sessionToken },
      connectionConfig: { service: 's3', region: 'eu-west-1' },
    });
    const put = await manager.fetch('bucket', '/reports/Q1 summary (final)*.bin', {
      method: 'PUT',
      body: new Uint8Array([0xff, 0x00, 0x80, 0x41]),
      headers: { 'content-type': 'application/octet-stream' },
    });
    const list = await manager.fetch('bucket', '/?list-type=2&prefix=a b&prefix=c&encoding-type=url');
    expect(s3.refusals).toEqual([]);
    expect([put.status, list.status]).toEqual([200, 200]);
    expect(s3.accepted[0]?.headers.authorization).toContain(
      'SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token',
    );
  });

  it('is refused with a wrong secret; the secret appears nowhere', async () => {
    const aws = await serve(startAwsService({ ...account, region: 'us-east-1', service: 'iam' }));
    const manager = scope.managerWith({ iam: local('aws-iam', aws.url) });
    await manager.create({
      connectionId: 'acct',
      providerConfigKey: 'iam',
      credentials: { type: 'BASIC', username: account.accessKeyId, password: 'not-the-secret-key' },
      connectionConfig: { region: 'us-east-1' },
    });
    const response = await manager.fetch('acct', '/?Action=ListUsers');
    expect(response.status).toBe(403);
    expect(aws.refusals.at(-1)).toContain('SignatureDoesNotMatch');
    expect(aws.accepted[0]?.headers.authorization ?? '').not.toContain('not-the-secret-key');
  });
});

it("Duo's Admin API (cisco-duo-admin): Date header and HMAC-SHA1 over the canonical request", async () => {
  const integration = { ikey: 'DIWJ8X6AEYOR5OMC6TQ1', skey: 'Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep' };
  const duo = await serve(startDuoAdminApi(integration));
  const manager = scope.managerWith({ duo: local('cisco-duo-admin', duo.url) });
  await manager.create({
    connectionId: 'tenant',
    providerConfigKey: 'duo',
    credentials: { type: 'BASIC', username: integration.ikey, password: integration.skey },
    connectionConfig: { hostname: 'api-1a2b3c4d.duosecurity.com' },
  });
  const list = await manager.fetch('tenant', '/admin/v1/users?username=jo doe&limit=10');
  const create = await manager.fetch('tenant', '/admin/v1/users', {
    method: 'POST',
    body: new URLSearchParams({ username: 'new.user', realname: 'New User' }),
  });
  expect(duo.refusals).toEqual([]);
  expect([list.status, create.status]).toEqual([200, 200]);
  await manager.create({
    connectionId: 'wrong-key',
    providerConfigKey: 'duo',
    credentials: { type: 'BASIC', username: integration.ikey, password: 'x'.repeat(40) },
    connectionConfig: { hostname: 'api-1a2b3c4d.duosecurity.com' },
  });
  expect((await manager.fetch('wrong-key', '/admin/v1/users')).status).toBe(401);
  expect(duo.refusals.at(-1)).toContain('Invalid signature');
  expect(duo.accepted[0]?.headers.date).toMatch(/^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000$/);
});

it('Streamline AI (streamline-ai): RFC 9421 Ed25519 message signatures; connect() verifies before storing', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keyId = 'slak_test_key_1';
  const streamline = await serve(startStreamlineApi({ keyId, publicKey }));
  const manager = scope.managerWith({ streamline: local('streamline-ai', `${streamline.url}/api`) });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const { privateKey: otherKey } = generateKeyPairSync('ed25519');
  await expect(
    manager.connect({
      connectionId: 'wrong',
      providerConfigKey: 'streamline',
      credentials: {
        type: 'BASIC',
        username: keyId,
        password: otherKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      },
      connectionConfig: { customer: 'acme', domain: 'streamline.ai' },
    }),
  ).rejects.toMatchObject({ code: 'authorization_failed' });
  expect(await manager.list()).toMatchObject({ connections: [] });
  await manager.connect({
    connectionId: 'acme',
    providerConfigKey: 'streamline',
    credentials: { type: 'BASIC', username: keyId, password: pem },
    connectionConfig: { customer: 'acme', domain: 'streamline.ai' },
  });
  const response = await manager.fetch('acme', '/v0/requests', {
    method: 'POST',
    body: JSON.stringify({ requestFormId: 'requestform_1', status: 'submitted' }),
  });
  expect(response.status).toBe(200);
  expect(streamline.accepted.map((r) => `${r.method} ${r.target}`)).toEqual([
    'GET /api/v0/request-forms',
    'POST /api/v0/requests',
  ]);
});

it('Avanan (avanan): a signed GET returns the bare token; API calls are signed over their path', async () => {
  const app = { appId: 'app9k8m', secretKey: 'secret3k9t' };
  const avanan = await serve(startAvanan(app));
  const now = Date.now();
  const manager = scope.managerWith({ avanan: local('avanan', avanan.url, '/v1.0/auth') });
  await manager.create({
    connectionId: 'tenant',
    providerConfigKey: 'avanan',
    credentials: { type: 'TWO_STEP', ...app },
    connectionConfig: { subdomain: 'smart-api-production-1-us' },
  });
  const connection = await manager.get('tenant');
  expect(connection.credentials).toMatchObject({ type: 'TWO_STEP', token: 'av-token-1' });
  const expiresAt = Date.parse((connection.credentials as { expires_at: string }).expires_at);
  expect(expiresAt - now).toBeGreaterThanOrEqual(3600_000 - 5_000);
  const response = await manager.fetch('tenant', '/v1.0/event/query?scrollId=abc');
  expect(avanan.refusals).toEqual([]);
  expect(response.status).toBe(200);
  expect(JSON.stringify(connection)).not.toContain(app.secretKey);
});

it('Tripletex (tripletex): a session token valid for seven days, then Basic with the company id', async () => {
  const tokens = { consumerToken: 'eyJjb25zdW1lcg==', employeeToken: 'eyJlbXBsb3llZQ==' };
  const tripletex = await serve(startTripletex(tokens));
  const manager = scope.managerWith({ tripletex: local('tripletex', tripletex.url, '/v2/token/session/:create') });
  await manager.create({
    connectionId: 'company',
    providerConfigKey: 'tripletex',
    credentials: { type: 'TWO_STEP', ...tokens },
    connectionConfig: { environment: 'tripletex.no', proxyCompanyId: '0' },
  });
  const connection = await manager.get('company');
  expect(connection.credentials).toMatchObject({ token: 'session-token-1' });
  expect(tripletex.expirationDates).toEqual([new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10)]);
  const response = await manager.fetch('company', '/v2/employee');
  expect(tripletex.refusals).toEqual([]);
  expect(response.status).toBe(200);
});

describe('Sage Intacct (sage-intacct): an XML session request', () => {
  const account = {
    senderId: 'acme-sender',
    senderPassword: 'sender-pass',
    userId: 'api-user',
    companyId: 'acme-co',
    userPassword: 'user-pass',
  };

  it('reads the session id and its timeout out of the XML answer', async () => {
    const sage = await serve(startSageIntacct(account));
    const manager = scope.managerWith({ sage: local('sage-intacct', sage.url, '/ia/xml/xmlgw.phtml') });
    await manager.create({
      connectionId: 'co',
      providerConfigKey: 'sage',
      credentials: { type: 'TWO_STEP', ...account },
    });
    const connection = await manager.get('co');
    expect(sage.refusals).toEqual([]);
    expect(connection.credentials).toMatchObject({ type: 'TWO_STEP', token: '0123456789.sess' });
    const expiresAt = Date.parse((connection.credentials as { expires_at: string }).expires_at);
    expect(Math.abs(expiresAt - (Date.now() + 3600_000))).toBeLessThan(10_000);
  });

  it('a failure answered with HTTP 200 is refused by connect(), and nothing is stored', async () => {
    const sage = await serve(startSageIntacct(account));
    const manager = scope.managerWith({ sage: local('sage-intacct', sage.url, '/ia/xml/xmlgw.phtml') });
    const error = await manager
      .connect({
        connectionId: 'co',
        providerConfigKey: 'sage',
        credentials: { type: 'TWO_STEP', ...account, userPassword: 'wrong-user-pass' },
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'authorization_failed' });
    expect(JSON.stringify(error)).not.toContain('wrong-user-pass');
    expect(await manager.list()).toMatchObject({ connections: [] });
  });
});

it('ZoomInfo (zoominfo): client id and secret as username and password, the answer a JWT', async () => {
  const user = { username: 'integration@acme.test', password: 'zoominfo-password' };
  const zoominfo = await serve(startZoomInfo(user));
  const definition = nangoEntry('zoominfo');
  const manager = scope.managerWith({
    zoominfo: {
      provider: 'zoominfo',
      clientId: user.username,
      clientSecret: user.password,
      definition: { ...definition, tokenUrl: `${zoominfo.url}/authenticate`, proxy: { baseUrl: zoominfo.url } },
    },
  });
  await manager.create({ connectionId: 'acme', providerConfigKey: 'zoominfo', credentials: { type: 'OAUTH2_CC' } });
  const connection = await manager.get('acme');
  expect((connection.credentials as { token: string }).token.split('.')).toHaveLength(3);
  const response = await manager.fetch('acme', '/search/contact', { method: 'POST', body: '{}' });
  expect(zoominfo.refusals).toEqual([]);
  expect(response.status).toBe(200);
});

it('Certn Partner (certn-partner): an OAUTH2_CC entry without a token URL fails by name until the integration gives one', async () => {
  const definition = nangoEntry('certn-partner');
  expect(definition.tokenUrl).toBeUndefined();
  const withoutUrl = scope.managerWith({
    certn: { provider: 'certn-partner', clientId: 'id', clientSecret: 'secret', definition },
  });
  await withoutUrl.create({ connectionId: 'c', providerConfigKey: 'certn', credentials: { type: 'OAUTH2_CC' } });
  await expect(withoutUrl.get('c')).rejects.toMatchObject({
    code: 'invalid_integration',
    message: expect.stringContaining('token URL'),
  });

  const server = await startClientCredentialsServer({
    method: 'client_secret_post',
    clientId: 'id',
    clientSecret: 'secret',
  });
  scope.defer(() => server.close());
  const withUrl = scope.managerWith({
    certn: {
      provider: 'certn-partner',
      clientId: 'id',
      clientSecret: 'secret',
      definition: { ...definition, tokenUrl: server.url },
    },
  });
  await withUrl.create({ connectionId: 'c', providerConfigKey: 'certn', credentials: { type: 'OAUTH2_CC' } });
  expect((await withUrl.get('c')).credentials).toMatchObject({ token: 'cc-token-1' });
});

it("the README's hand-written Duo definition signs the same way, without Nango's catalog", async () => {
  const integration = { ikey: 'DIABCDEFGHIJKLMNOPQR', skey: 'secret-key-of-forty-characters-000000000' };
  const duo = await serve(startDuoAdminApi(integration));
  const manager = scope.managerWith({
    duo: {
      provider: 'duo-admin',
      definition: {
        authMode: 'BASIC',
        connectionConfig: { hostname: { pattern: '^api-[a-z0-9]+\\.duosecurity\\.com$' } },
        proxy: {
          baseUrl: duo.url,
          headers: {
            date: '${now:ddd, DD MMM YYYY HH:mm:ss ZZ}',
            authorization:
              'Basic ${base64(${credentials.username}:${hmacSha1Hex(${now:ddd, DD MMM YYYY HH:mm:ss ZZ}\n${method}\n${host}\n${path}\n${params}, ${credentials.password})})}',
          },
        },
      },
    },
  });
  await expect(
    manager.create({
      connectionId: 'bad-host',
      providerConfigKey: 'duo',
      credentials: { type: 'BASIC', username: integration.ikey, password: integration.skey },
      connectionConfig: { hostname: 'evil.example.com' },
    }),
  ).rejects.toMatchObject({ code: 'invalid_request' });
  await manager.create({
    connectionId: 'tenant',
    providerConfigKey: 'duo',
    credentials: { type: 'BASIC', username: integration.ikey, password: integration.skey },
    connectionConfig: { hostname: 'api-9z8y7x.duosecurity.com' },
  });
  const response = await manager.fetch('tenant', '/admin/v1/logs/authentication?mintime=1&maxtime=2');
  expect(duo.refusals).toEqual([]);
  expect(response.status).toBe(200);
});

it('Mandrill (mandrill): the API key goes in the JSON body, next to the caller’s fields, not in a header', async () => {
  const mandrill = await serve(
    startApi((request) => {
      const body = JSON.parse(request.body || '{}') as Record<string, unknown>;
      if (body.key !== 'md-api-key')
        return { status: 500, body: JSON.stringify({ status: 'error', name: 'Invalid_Key' }) };
      if (request.headers.authorization) return { status: 400, body: JSON.stringify({ error: 'unexpected header' }) };
      if (request.target === '/api/1.0/users/ping.json') return { status: 200, body: '"PONG!"' };
      return {
        status: 200,
        body: JSON.stringify([
          { email: (body.message as { to: Array<{ email: string }> }).to[0]?.email, status: 'sent' },
        ]),
      };
    }),
  );
  const manager = scope.managerWith({ mandrill: local('mandrill', `${mandrill.url}/api/1.0`) });
  await manager.create({
    connectionId: 'acct',
    providerConfigKey: 'mandrill',
    credentials: { type: 'API_KEY', apiKey: 'md-api-key' },
  });
  const ping = await manager.fetch('acct', '/users/ping.json', { method: 'POST' });
  expect(await ping.json()).toBe('PONG!');
  const send = await manager.fetch('acct', '/messages/send.json', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message: { to: [{ email: 'a@acme.test' }], subject: 'hi' } }),
  });
  expect(await send.json()).toEqual([{ email: 'a@acme.test', status: 'sent' }]);
  expect(mandrill.refusals).toEqual([]);
});

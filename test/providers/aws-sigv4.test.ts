import { createHash } from 'node:crypto';
import aws4 from 'aws4';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signAwsV4, type SigV4Request } from '../../src/signing/aws-sigv4.js';
import { interpolate } from '../../src/providers/template.js';

/** What `aws4` (the devDependency used as the oracle) makes of the same request. */
function signedByAws4(request: SigV4Request): { authorization: string; headers: Record<string, string> } {
  const path = request.url.pathname + request.url.search;
  const headers: Record<string, string> = { Host: request.url.host, 'X-Amz-Date': request.amzDate };
  if (request.contentType) headers['Content-Type'] = request.contentType;
  const signed = aws4.sign(
    {
      method: request.method,
      path,
      headers,
      body: typeof request.body === 'string' ? request.body : Buffer.from(request.body),
      service: request.service,
      region: request.region,
      // aws4 adds Content-Length (and a default Content-Type) to what it signs; Latchkey does not.
      extraHeadersToIgnore: { 'content-length': true, ...(request.contentType ? {} : { 'content-type': true }) },
    } as aws4.Request,
    {
      accessKeyId: request.accessKeyId,
      secretAccessKey: request.secretAccessKey,
      ...(request.sessionToken ? { sessionToken: request.sessionToken } : {}),
    },
  );
  // The oracle must have signed this very path, not a re-encoded one.
  expect(signed.path?.split('?')[0]).toBe(request.url.pathname);
  const out = signed.headers as Record<string, string>;
  return {
    authorization: out.Authorization as string,
    headers: Object.fromEntries(
      Object.entries(out)
        .filter(([name]) => /^x-amz-/i.test(name))
        .map(([name, value]) => [name.toLowerCase(), String(value)]),
    ),
  };
}

const concat = (pieces: string[]) => pieces.join('');
// Path pieces: unreserved and sub-delimiter characters as they are, characters the URL parser
// encodes itself (space, quotes, braces, non-ASCII), percent-encoded reserved characters, `+`.
const pathPiece = fc.constantFrom(
  ...['a', 'Z', '0', '-', '.', '_', '~', '!', '$', '&', "'", '(', ')', '*', '+', ',', ';', '=', ':', '@'],
  ...[' ', '"', '<', '>', '`', '{', '}', 'é', '€', '😀'],
  ...['%2F', '%2f', '%3F', '%23', '%25', '%20', '%2B', '%5B', '%5D', '%7C', '%5E', '%41', '%C3%A4'],
);
const segment = fc.oneof(
  { weight: 8, arbitrary: fc.array(pathPiece, { minLength: 1, maxLength: 6 }).map(concat) },
  { weight: 1, arbitrary: fc.constantFrom('', '.', '..') },
);
// Query pieces: raw, `+` and `%20` for spaces, encoded `&`, `=`, `+`, `%`, UTF-8.
const queryPiece = fc.constantFrom(
  ...['a', 'B', '9', '-', '_', '.', '~', '+', '%20', '!', '*', "'", '(', ')', ',', ';', ':', '@', '$', '/', '?'],
  ...['%26', '%3D', '%2B', '%25', '%C3%A4', 'é', '%E2%82%AC', '%F0%9F%98%80', '%7E'],
);
const queryName = fc.oneof(
  fc.constantFrom('a', 'B', 'list-type', 'x-id', 'Param1'),
  fc.array(queryPiece, { minLength: 1, maxLength: 4 }).map(concat),
);
const query = fc
  .array(fc.tuple(queryName, fc.array(queryPiece, { maxLength: 5 }).map(concat), fc.boolean()), { maxLength: 6 })
  .map((pairs) => pairs.map(([name, value, bare]) => (bare && value === '' ? name : `${name}=${value}`)).join('&'));

const request: fc.Arbitrary<SigV4Request> = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD'),
    host: fc.constantFrom(
      'example.amazonaws.com',
      'iam.amazonaws.com',
      'my-bucket.s3.eu-west-1.amazonaws.com',
      '127.0.0.1:9000',
    ),
    segments: fc.array(segment, { maxLength: 5 }),
    trailingSlash: fc.boolean(),
    query,
    body: fc.oneof(fc.constant(''), fc.string({ unit: 'grapheme', maxLength: 60 }), fc.uint8Array({ maxLength: 60 })),
    contentType: fc.option(
      fc.constantFrom(
        'application/json',
        'application/x-www-form-urlencoded; charset=utf-8',
        '  text/plain ',
        'multipart/form-data;  boundary=x',
        'application/x-amz-json-1.1',
      ),
      { nil: undefined },
    ),
    instant: fc.date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }),
    accessKeyId: fc.stringMatching(/^AKIA[A-Z0-9]{16}$/),
    secretAccessKey: fc.stringMatching(/^[A-Za-z0-9/+]{40}$/),
    sessionToken: fc.option(fc.stringMatching(/^[A-Za-z0-9/+]{20,300}={0,2}$/), { nil: undefined }),
    region: fc.constantFrom('us-east-1', 'eu-west-1', 'ap-southeast-2'),
    service: fc.constantFrom('s3', 's3', 'iam', 'execute-api', 'dynamodb', 'sts', 'athena'),
  })
  .map(({ host, segments, trailingSlash, query: search, instant, sessionToken, contentType, ...rest }) => ({
    ...rest,
    url: new URL(`https://${host}/${segments.join('/')}${trailingSlash ? '/' : ''}${search ? `?${search}` : ''}`),
    amzDate: instant.toISOString().replace(/[:-]|\.\d{3}/g, ''),
    ...(sessionToken ? { sessionToken } : {}),
    ...(contentType ? { contentType } : {}),
  }));

/** How many random requests the property below signs with both Latchkey and aws4. */
const RUNS = 5000;

describe('AWS SigV4 signing (aws-iam, aws-inspector2, aws-multi-service)', () => {
  it(`signs ${RUNS} random requests exactly as aws4 does: S3 and other services, with and without a session token (fast-check)`, () => {
    let s3 = 0;
    let withToken = 0;
    fc.assert(
      fc.property(request, (input) => {
        // Every character the URL left unencoded is one aws4 takes as it is (else it re-encodes the path).
        expect(input.url.pathname + input.url.search).not.toMatch(/[^0-9A-Za-z;,/?:@&=+$\-_.!~*'()#%]/);
        const ours = signAwsV4(input);
        const oracle = signedByAws4(input);
        expect(ours.authorization).toBe(oracle.authorization);
        expect(ours.headers).toEqual(oracle.headers);
        if (input.service === 's3') s3 += 1;
        if (input.sessionToken) withToken += 1;
      }),
      { numRuns: RUNS },
    );
    // The generator reaches every case the issue names.
    expect(s3).toBeGreaterThan(RUNS / 10);
    expect(withToken).toBeGreaterThan(RUNS / 10);
  });

  const SUITE = {
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    amzDate: '20150830T123600Z',
    region: 'us-east-1',
    service: 'service',
  };
  const STS_TOKEN =
    'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==';

  // AWS's published SigV4 test suite (aws-sig-v4-test-suite, 2015-08-30): the cases whose signed
  // headers are the ones Latchkey signs. Left out besides: get-utf8 and get-space, whose paths go
  // on the wire unencoded (`/ሴ`), which a URL cannot carry; sent encoded, they are encoded twice.
  it.each([
    ['get-vanilla', 'GET', '/', {}, '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'],
    [
      'get-vanilla-query-order-key-case',
      'GET',
      '/?Param2=value2&Param1=value1',
      {},
      'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
    ],
    [
      'get-vanilla-query-unreserved',
      'GET',
      '/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
      {},
      '9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197',
    ],
    [
      'get-vanilla-utf8-query',
      'GET',
      '/?ሴ=bar',
      {},
      '2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04',
    ],
    [
      'get-unreserved',
      'GET',
      '/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
      {},
      '07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f',
    ],
    [
      'normalize-path/get-slashes',
      'GET',
      '//example//',
      {},
      '9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84',
    ],
    ['normalize-path/get-slash', 'GET', '//', {}, '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'],
    [
      'normalize-path/get-relative-relative',
      'GET',
      '/example1/example2/../..',
      {},
      '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    ],
    [
      'normalize-path/get-slash-pointless-dot',
      'GET',
      '/./example',
      {},
      'ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5',
    ],
    ['post-vanilla', 'POST', '/', {}, '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b'],
    [
      'post-vanilla-query',
      'POST',
      '/?Param1=value1',
      {},
      '28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11',
    ],
    [
      'post-vanilla-query-nonunreserved',
      'POST',
      '/?%40%23%24%25%5E=&%2B=%2F%2C%3F%3E%3C%60%22%3B%3A%5C%7C%5D%5B%7B%7D',
      {},
      '66c82657c86e26fb25238d0e69f011edc4c6df5ae71119d7cb98ed9b87393c1e',
    ],
    [
      'post-x-www-form-urlencoded',
      'POST',
      '/',
      { contentType: 'application/x-www-form-urlencoded', body: 'Param1=value1' },
      'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
    ],
    [
      'post-x-www-form-urlencoded-parameters',
      'POST',
      '/',
      { contentType: 'application/x-www-form-urlencoded; charset=utf8', body: 'Param1=value1' },
      '1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe',
    ],
    [
      'post-sts-token/post-sts-header-before',
      'POST',
      '/',
      { sessionToken: STS_TOKEN },
      '85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead',
    ],
  ] as const)('reproduces the AWS test suite: %s', (_name, method, path, extra, signature) => {
    const signed = signAwsV4({
      ...SUITE,
      method,
      url: new URL(`https://example.amazonaws.com${path}`),
      body: '',
      ...extra,
    });
    expect(signed.authorization).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=[a-z;-]+, Signature=${signature}$`,
      ),
    );
    expect(signed.headers).toEqual({
      'x-amz-date': SUITE.amzDate,
      ...('sessionToken' in extra ? { 'x-amz-security-token': STS_TOKEN } : {}),
    });
  });

  // The examples of "Signature Calculations for the Authorization Header: Transferring Payload in a
  // Single Chunk" (Amazon S3 API reference) that sign no other header, and IAM's ListUsers example.
  it.each([
    ['GET Bucket Lifecycle', '/?lifecycle', 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543'],
    [
      'GET Bucket (List Objects)',
      '/?max-keys=2&prefix=J',
      '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
    ],
  ])('reproduces the S3 documentation example %s, sending x-amz-content-sha256', (_name, path, signature) => {
    const signed = signAwsV4({
      method: 'GET',
      url: new URL(`https://examplebucket.s3.amazonaws.com${path}`),
      body: '',
      amzDate: '20130524T000000Z',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      region: 'us-east-1',
      service: 's3',
    });
    expect(signed.authorization).toBe(
      `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${signature}`,
    );
    expect(signed.headers['x-amz-content-sha256']).toBe(createHash('sha256').update('').digest('hex'));
  });

  it("reproduces IAM's documented ListUsers request (aws-iam's service)", () => {
    const signed = signAwsV4({
      ...SUITE,
      service: 'iam',
      method: 'GET',
      url: new URL('https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08'),
      contentType: 'application/x-www-form-urlencoded; charset=utf-8',
      body: '',
    });
    expect(signed.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
    );
  });

  it('awsSigV4() in a template returns the Authorization value and hands the signed x-amz-* headers to the request', () => {
    const request = {
      method: 'POST',
      url: new URL('https://example.amazonaws.com/'),
      endpoint: '/',
      body: '',
      contentType: '',
      formBody: false,
      addedHeaders: {} as Record<string, string>,
    };
    const moment = { now: Date.parse('2015-08-30T12:36:00Z'), random: '' };
    const key = { credentials: { id: SUITE.accessKeyId, secret: SUITE.secretAccessKey, token: STS_TOKEN } };
    const withToken = interpolate(
      '${awsSigV4(${credentials.id}, ${credentials.secret}, us-east-1, service, , ${credentials.token})}',
      key,
      { encode: false, moment, request },
    );
    expect(withToken).toMatch(/SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3/);
    expect(request.addedHeaders).toEqual({ 'x-amz-date': '20150830T123600Z', 'x-amz-security-token': STS_TOKEN });
    // An empty token is none.
    request.addedHeaders = {};
    expect(
      interpolate('${awsSigV4(${credentials.id}, ${credentials.secret}, us-east-1, service, h, )}', key, {
        encode: false,
        moment,
        request,
      }),
    ).toMatch(
      /SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b$/,
    );
    expect(request.addedHeaders).toEqual({ 'x-amz-date': '20150830T123600Z' });
  });
});

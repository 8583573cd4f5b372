import { createHash, createHmac, generateKeyPairSync, verify } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatchkeyError } from '../../src/index.js';
import { interpolate, interpolateJson, type TemplateRequest } from '../../src/providers/template.js';

const moment = { now: Date.parse('2026-03-02T14:30:55.123Z'), random: '6f1c0b8e-request-id' };
const values = {
  credentials: { username: 'john', password: 'doe123', appId: 'app7', secretKey: 'sk9' },
  connectionConfig: { region: 'eu-west-1', 'installation.uuid': 'a87e0eb2' },
};
const fill = (template: string, request?: TemplateRequest) =>
  interpolate(template, values, { encode: false, moment, ...(request ? { request } : {}) });

function requestTo(url: string, extra: Partial<TemplateRequest> = {}): TemplateRequest {
  return {
    method: 'GET',
    url: new URL(url),
    endpoint: '/',
    body: '',
    contentType: '',
    formBody: false,
    addedHeaders: {},
    ...extra,
  };
}

describe('the template language of provider definitions', () => {
  it.each([
    ['${now}', '2026-03-02T14:30:55.123Z'],
    ['${now:YYYY-MM-DDTHH:mm:ss}', '2026-03-02T14:30:55'],
    ['${now:YYYY-MM-DDTHH:mm:ss.SSS}', '2026-03-02T14:30:55.123'],
    ['${now:YYYYMMDDTHHmmss[Z]}', '20260302T143055Z'],
    ['${now:ddd, DD MMM YYYY HH:mm:ss ZZ}', 'Mon, 02 Mar 2026 14:30:55 +0000'],
    ['${now:X}', '1772461855'],
    ['${now:x}', '1772461855123'],
    ['${now+7:days:YYYY-MM-DD}', '2026-03-09'],
    ['${now+1:minutes:X}', '1772461915'],
    ['${now-2:hours:H:mm A}', '12:30 PM'],
    ['${now+30:days:dddd D MMMM YY}', 'Wednesday 1 April 26'],
  ])('formats %s as %s, in UTC', (template, expected) => {
    expect(fill(template)).toBe(expected);
  });

  it('gives every template of one request the same ${random} and ${now}', () => {
    expect(fill('${random}|${random}')).toBe(`${moment.random}|${moment.random}`);
    const other = interpolate('${random}', {}, { encode: false });
    expect(other).toMatch(/^[0-9a-f-]{36}$/);
    expect(other).not.toBe(interpolate('${random}', {}, { encode: false }));
  });

  it('evaluates nested functions on the filled-in text', () => {
    const inner = `${moment.random}app7${'2026-03-02T14:30:55'}sk9`;
    const expected = createHash('sha256').update(Buffer.from(inner).toString('base64')).digest('hex');
    expect(
      fill('${sha256Hex(${base64(${random}${credentials.appId}${now:YYYY-MM-DDTHH:mm:ss}${credentials.secretKey})})}'),
    ).toBe(expected);
    expect(fill('${sha256Base64(abc)}')).toBe(createHash('sha256').update('abc').digest('base64'));
  });

  it("splits arguments only at top-level commas: a date format's comma stays in its ${…}", () => {
    const message = 'Mon, 02 Mar 2026 14:30:55 +0000\nGET';
    expect(
      fill(
        '${hmacSha1Hex(${now:ddd, DD MMM YYYY HH:mm:ss ZZ}\n${method}, ${credentials.password})}',
        requestTo('https://h/'),
      ),
    ).toBe(createHmac('sha1', 'doe123').update(message).digest('hex'));
  });

  it('signs with Ed25519, verifiable with the public key, from a PEM or a base64 seed', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const seed = (privateKey.export({ format: 'der', type: 'pkcs8' }) as Buffer).subarray(16).toString('base64');
    for (const key of [pem, seed]) {
      const signature = interpolate(
        '${ed25519Sign(("@method" "x");alg="ed25519", ${credentials.key})}',
        { credentials: { key } },
        { encode: false, moment },
      );
      expect(
        verify(null, Buffer.from('("@method" "x");alg="ed25519"'), publicKey, Buffer.from(signature, 'base64')),
      ).toBe(true);
    }
    expect(() =>
      interpolate('${ed25519Sign(m, ${credentials.key})}', { credentials: { key: 'not-a-key-secret' } }),
    ).toThrow(
      expect.objectContaining({
        code: 'invalid_credentials',
        message: expect.not.stringContaining('not-a-key-secret'),
      }),
    );
  });

  // AWS's published SigV4 test suite (aws-sig-v4-test-suite): get-vanilla and get-vanilla-query-order-key-case.
  it.each([
    ['https://example.amazonaws.com/', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'],
    [
      'https://example.amazonaws.com/?Param2=value2&Param1=value1',
      'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
    ],
  ])('awsSigV4 reproduces the AWS test-suite signature for %s', (url, signature) => {
    const header = interpolate(
      '${awsSigV4(AKIDEXAMPLE, wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, us-east-1, service)}',
      {},
      { encode: false, moment: { now: Date.parse('2015-08-30T12:36:00Z'), random: '' }, request: requestTo(url) },
    );
    expect(header).toBe(
      `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${signature}`,
    );
  });

  it('gives request values in canonical form: sorted, RFC 3986-encoded parameters', () => {
    const request = requestTo('https://api-1.duosecurity.com/admin/v1/users?username=jo+doe&limit=10&a=%21', {
      endpoint: '/admin/v1/users',
    });
    expect(fill('${method} ${host} ${path} ${params} ${endpoint} [${bodyCanonicalParams}]', request)).toBe(
      'GET api-1.duosecurity.com /admin/v1/users a=%21&limit=10&username=jo%20doe /admin/v1/users []',
    );
    const post = requestTo('https://h/x?q=1', { method: 'POST', body: 'b=2&a=1', formBody: true });
    expect(fill('${params}|${urlCanonicalParams}', post)).toBe('a=1&b=2|q=1');
  });

  it('reads a value as data: one holding ${…}, commas or parentheses is not evaluated', () => {
    const hostile = { credentials: { username: '${credentials.password}), x(' } };
    expect(interpolate('${base64(${credentials.username})}', hostile, { encode: false })).toBe(
      Buffer.from('${credentials.password}), x(').toString('base64'),
    );
  });

  it('finds metadata stored under a dotted name', () => {
    expect(fill('${connectionConfig.installation.uuid}')).toBe('a87e0eb2');
  });

  it('names a missing value, and takes the next alternative of ||', () => {
    expect(() => fill('${connectionConfig.subdomain}')).toThrow(
      expect.objectContaining({ code: 'missing_template_value', path: 'connectionConfig.subdomain' }),
    );
    expect(fill('https://${connectionConfig.subdomain}.x.com || https://x.com')).toBe('https://x.com');
    expect(() => fill('${awsSigV4(a, b, c, d)}')).toThrow(expect.objectContaining({ code: 'invalid_template' }));
    // Outside a request, request values are missing like any other.
    expect(() => fill('${method}')).toThrow(expect.objectContaining({ code: 'missing_template_value' }));
  });

  it.each([
    ['${unknownFn(x)}', /Unknown template function unknownFn/],
    ['${base64(a, b)}', /base64\(\) takes 1 argument/],
    ['${awsSigV4(a, b, c)}', /awsSigV4\(\) takes 4 to 6 arguments/],
    ['${now+1:fortnights:X}', /Unknown time unit/],
    ['${credentials.username', /Expected }/],
    ['${sha256Hex(x}', /Expected \) closing sha256Hex/],
  ])('refuses %s with invalid_template', (template, message) => {
    expect(() => fill(template)).toThrow(
      expect.objectContaining({ code: 'invalid_template', message: expect.stringMatching(message) }),
    );
  });

  it('fills JSON templates, keeping a lone value typed and {{$guid}} fresh', () => {
    const filled = interpolateJson(
      { count: '${connectionConfig.n}', id: '{{$guid}}', other: '{{$guid}}', at: 'at ${now:X}', flag: false },
      { connectionConfig: { n: 3 } },
      { moment },
    ) as Record<string, unknown>;
    expect(filled).toMatchObject({ count: 3, at: 'at 1772461855', flag: false });
    expect(filled.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(filled.id).not.toBe(filled.other);
  });

  it('reads any template to a string or a typed refusal, never a crash (fast-check)', () => {
    const piece = fc.oneof(
      fc.constantFrom(
        '${',
        '}',
        '(',
        ')',
        ',',
        ' ',
        '${now',
        ':',
        '+1',
        '-',
        'days',
        '${random}',
        '{{$guid}}',
        '\n',
        '||',
        ' || ',
      ),
      fc.constantFrom(
        'base64(',
        'sha256Hex(',
        'hmacSha1Hex(',
        'ed25519Sign(',
        'awsSigV4(',
        'credentials.username',
        'x',
      ),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => {
        const template = pieces.join('');
        try {
          expect(typeof fill(template, requestTo('https://h/p?q=1'))).toBe('string');
        } catch (error) {
          expect(error).toBeInstanceOf(LatchkeyError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

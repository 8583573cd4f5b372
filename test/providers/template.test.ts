import { createHash, createHmac, generateKeyPairSync, verify } from 'node:crypto';
import dayjs from 'dayjs';
import utc from 'dayjs/plugin/utc.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatchkeyError } from '../../src/index.js';
import { interpolate, interpolateJson, type TemplateRequest } from '../../src/providers/template.js';

dayjs.extend(utc);

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
    ['${now:d dd ddd}', '1 Mo Mon'],
    ['${now+5:d:d dd}', '6 Sa'],
    ['${now+1:months:YYYY-MM-DD HH:mm}', '2026-04-02 14:30'],
    ['${now-3:M:YYYY-MM-DD}', '2025-12-02'],
    ['${now+1:year:YYYY-MM-DD}', '2027-03-02'],
    ['${now-2:Years:YYYY}', '2024'],
    ['${now+1:y:YYYY}', '2027'],
    ['${now+1:w:YYYY-MM-DD}', '2026-03-09'],
    ['${now+500:ms:ss.SSS}', '55.623'],
    ['${now+1:months}', '2026-04-02T14:30:55.123Z'],
    ['${now:[]YYYY}', '[]2026'],
  ])('formats %s as %s, in UTC', (template, expected) => {
    expect(fill(template)).toBe(expected);
  });

  // Day.js's `add`: the day of the month is kept, clamped to the target month's last day.
  it.each([
    ['2025-01-31T10:00:00Z', '${now+1:month:YYYY-MM-DD HH:mm}', '2025-02-28 10:00'],
    ['2024-01-31T10:00:00Z', '${now+1:month:YYYY-MM-DD HH:mm}', '2024-02-29 10:00'],
    ['2025-03-31T23:59:59Z', '${now-1:month:YYYY-MM-DD HH:mm:ss}', '2025-02-28 23:59:59'],
    ['2025-01-31T00:00:00Z', '${now+13:months:YYYY-MM-DD}', '2026-02-28'],
    ['2024-02-29T12:00:00Z', '${now+1:year:YYYY-MM-DD}', '2025-02-28'],
    ['2024-02-29T12:00:00Z', '${now+4:years:YYYY-MM-DD}', '2028-02-29'],
    ['2025-08-31T00:00:00Z', '${now+1:month:YYYY-MM-DD}', '2025-09-30'],
  ])('from %s, %s is %s (calendar arithmetic in UTC)', (instant, template, expected) => {
    expect(interpolate(template, {}, { encode: false, moment: { now: Date.parse(instant), random: '' } })).toBe(
      expected,
    );
  });

  // Nango fills these templates with Day.js (`dayjs.utc(now).add(N, unit).format(FORMAT)`, and
  // `X`/`x` as epoch seconds/milliseconds); Day.js is a devDependency here, used as the oracle.
  it('formats and offsets dates as Day.js does, for random instants, offsets, units and formats (fast-check)', () => {
    const token = fc.constantFrom(
      ...['YYYY', 'YY', 'MMMM', 'MMM', 'MM', 'M', 'DD', 'D', 'dddd', 'ddd', 'dd', 'd', 'HH', 'H', 'hh', 'h'],
      ...['mm', 'm', 'ss', 's', 'SSS', 'A', 'a', 'ZZ', 'Z', '[T]', '[at X]', 'T', 'x1'],
    );
    const separator = fc.constantFrom(' ', '-', ':', '/', ', ', '.', '|', 'T', '');
    const format = fc.oneof(
      { weight: 9, arbitrary: fc.array(fc.tuple(token, separator), { minLength: 1, maxLength: 8 }) },
      { weight: 1, arbitrary: fc.constantFrom([['X', '']], [['x', '']]) },
    );
    const unit = fc.constantFrom(
      ...['ms', 'millisecond', 'milliseconds', 's', 'second', 'seconds', 'm', 'minute', 'minutes', 'h', 'hour'],
      ...['hours', 'd', 'day', 'days', 'Days', 'w', 'week', 'weeks', 'M', 'month', 'months', 'Months', 'y', 'year'],
      'years',
    );
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1900-01-01'), max: new Date('2200-12-31'), noInvalidDate: true }),
        fc.option(fc.tuple(fc.integer({ min: -1500, max: 1500 }), unit), { nil: undefined }),
        format,
        (instant, offset, pieces) => {
          // Tokens are joined so that two never run into a longer one (M then MM is not MMM).
          const text = pieces
            .map(([t, sep], i) => t + (sep === '' && /^[A-Za-z]/.test(pieces[i + 1]?.[0] ?? '') ? ' ' : sep))
            .join('');
          const shifted = offset
            ? dayjs.utc(instant).add(offset[0], offset[1] as dayjs.ManipulateType)
            : dayjs.utc(instant);
          const expected =
            text === 'X' ? String(shifted.unix()) : text === 'x' ? String(shifted.valueOf()) : shifted.format(text);
          const spec = offset ? `now${offset[0] < 0 ? '' : '+'}${offset[0]}:${offset[1]}:${text}` : `now:${text}`;
          const moment = { now: instant.getTime(), random: '' };
          expect(interpolate(`\${${spec}}`, {}, { encode: false, moment })).toBe(expected);
        },
      ),
      { numRuns: 3000 },
    );
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
    // Day.js would add milliseconds for these; Latchkey refuses them.
    ['${now+1:D:X}', /Unknown time unit "D"/],
    ['${now+1:quarter:X}', /Unknown time unit "quarter"/],
    ['${now+1:constructor:X}', /Unknown time unit/],
    ['${now+300000:years:X}', /outside what a date can hold/],
    ['${now+99999999999999999999:days}', /outside what a date can hold/],
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

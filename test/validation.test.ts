import { describe, expect, it } from 'vitest';
import {
  ConnectionManager,
  InsecureRequestError,
  InvalidCredentialsError,
  InvalidIntegrationError,
  InvalidRequestError,
  type LatchkeyError,
  MissingTemplateValueError,
  UnknownConnectionError,
} from '../src/index.js';
import { assertId, nangoIdProblem } from '../src/model/validation.js';
import { captureLogs } from './support/logs.js';

function manager() {
  return new ConnectionManager({
    integrations: {
      github: { provider: 'github', clientId: 'id', clientSecret: 'secret' },
      keys: { provider: 'any', definition: { authMode: 'API_KEY' } },
      zendesk: { provider: 'zendesk', clientId: 'id', clientSecret: 'secret' },
    },
    logger: captureLogs().logger,
  });
}

const oauth = { type: 'OAUTH2', access_token: 'at' };

async function rejection(promise: Promise<unknown>): Promise<LatchkeyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!error) throw new Error('expected a rejection');
  return error as LatchkeyError;
}

describe('create refuses bad input with a typed error and stores nothing', () => {
  const cases: Array<[string, Record<string, unknown>, string, string | undefined]> = [
    [
      'an empty connection id',
      { connectionId: '', providerConfigKey: 'github', credentials: oauth },
      'invalid_request',
      'connectionId',
    ],
    [
      'a 256-character id',
      { connectionId: 'x'.repeat(256), providerConfigKey: 'github', credentials: oauth },
      'invalid_request',
      'connectionId',
    ],
    [
      'a control character',
      { connectionId: 'a\u0000b', providerConfigKey: 'github', credentials: oauth },
      'invalid_request',
      'connectionId',
    ],
    [
      'an unknown integration',
      { connectionId: 'c', providerConfigKey: 'nope', credentials: oauth },
      'unknown_integration',
      undefined,
    ],
    ['no credentials', { connectionId: 'c', providerConfigKey: 'github' }, 'invalid_credentials', 'credentials'],
    [
      'an unknown type',
      { connectionId: 'c', providerConfigKey: 'github', credentials: { type: 'MAGIC' } },
      'invalid_credentials',
      'credentials.type',
    ],
    [
      'the wrong type for the integration',
      { connectionId: 'c', providerConfigKey: 'github', credentials: { type: 'API_KEY', apiKey: 'k' } },
      'invalid_credentials',
      'credentials.type',
    ],
    [
      'a missing access token',
      { connectionId: 'c', providerConfigKey: 'github', credentials: { type: 'OAUTH2' } },
      'invalid_credentials',
      'credentials.access_token',
    ],
    [
      'a non-string refresh token',
      { connectionId: 'c', providerConfigKey: 'github', credentials: { ...oauth, refresh_token: 42 } },
      'invalid_credentials',
      'credentials.refresh_token',
    ],
    [
      'an unparseable expiry',
      { connectionId: 'c', providerConfigKey: 'github', credentials: { ...oauth, expires_at: 'soon' } },
      'invalid_credentials',
      'credentials.expires_at',
    ],
    [
      'an unknown credential field',
      { connectionId: 'c', providerConfigKey: 'github', credentials: { ...oauth, extra: 1 } },
      'invalid_credentials',
      'credentials.extra',
    ],
    [
      'an empty api key',
      { connectionId: 'c', providerConfigKey: 'keys', credentials: { type: 'API_KEY', apiKey: '' } },
      'invalid_credentials',
      'credentials.apiKey',
    ],
    [
      'metadata that is an array',
      { connectionId: 'c', providerConfigKey: 'keys', credentials: { type: 'API_KEY', apiKey: 'k' }, metadata: [] },
      'invalid_request',
      'metadata',
    ],
    [
      'oversized metadata',
      {
        connectionId: 'c',
        providerConfigKey: 'keys',
        credentials: { type: 'API_KEY', apiKey: 'k' },
        metadata: { blob: 'x'.repeat(70_000) },
      },
      'invalid_request',
      'metadata',
    ],
    [
      'eleven tags',
      {
        connectionId: 'c',
        providerConfigKey: 'keys',
        credentials: { type: 'API_KEY', apiKey: 'k' },
        tags: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`t${i}`, 'v'])),
      },
      'invalid_request',
      'tags',
    ],
  ];

  it.each(cases)('%s', async (_name, input, code, field) => {
    const m = manager();
    const error = await rejection(m.create(input as never));
    expect(error.code).toBe(code);
    if (field !== undefined) expect((error as InvalidRequestError).field).toBe(field);
    expect((await m.list()).connections).toEqual([]);
  });
});

describe('tags follow Nango’s rules', () => {
  const input = (tags: Record<string, unknown>) => ({
    connectionId: 'c',
    providerConfigKey: 'keys',
    credentials: { type: 'API_KEY', apiKey: 'k' },
    tags: tags as Record<string, string>,
  });

  it('accepts keys with letters, digits and _-./ and lower-cases them', async () => {
    const m = manager();
    await m.create(input({ 'Team_1-a.b/c': 'x', env: 'prod' }));
    expect((await m.get('c')).tags).toEqual({ 'team_1-a.b/c': 'x', env: 'prod' });
  });

  it.each([
    ['a key starting with a digit', { '1abc': 'v' }],
    ['a key with a space', { 'a b': 'v' }],
    ['a 65-character key', { ['k'.repeat(65)]: 'v' }],
    ['keys colliding once lower-cased', { Env: 'a', env: 'b' }],
    ['an empty value', { env: '' }],
    ['a 256-character value', { env: 'v'.repeat(256) }],
    ['a non-string value', { env: 3 }],
  ])('refuses %s', async (_name, tags) => {
    const m = manager();
    await expect(m.create(input(tags))).rejects.toBeInstanceOf(InvalidRequestError);
    expect((await m.list()).connections).toEqual([]);
  });

  it.each(['user@example.com', 'a@b.co', "o'neil+tag@mail.example-corp.io", 'x_y-z.w@a1.b2.museum'])(
    'takes %s as end_user_email',
    async (email) => {
      const m = manager();
      await m.create(input({ End_User_Email: email }));
      expect((await m.get('c')).tags).toEqual({ end_user_email: email });
    },
  );

  // Nango checks end_user_email with Zod's email(): ASCII local part without leading, trailing
  // or doubled dots, a domain of labels ending in two or more letters.
  it.each([
    'not-an-email',
    'user@localhost',
    'user@example.c',
    '.user@example.com',
    'user.@example.com',
    'us..er@example.com',
    'user@-example.com',
    'user@example.com ',
    'ü@example.com',
    'user@exämple.com',
    'a@b@example.com',
  ])('refuses %s as end_user_email, in any case of the key, saying what to fix', async (email) => {
    const m = manager();
    for (const key of ['end_user_email', 'END_USER_EMAIL']) {
      const error = await rejection(m.create(input({ [key]: email })));
      expect(error).toMatchObject({
        code: 'invalid_request',
        field: 'tags.end_user_email',
        message: expect.stringContaining('must be an email address'),
      });
    }
    // Other keys take any text.
    await m.create(input({ email }));
    expect((await m.get('c')).tags).toEqual({ email });
  });
});

describe('connection ids and Nango’s API', () => {
  // Nango's API takes these characters in connection ids (packages/server/lib/helpers/validation.ts,
  // connectionIdSchema) and these in provider config keys (providerConfigKeySchema).
  const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const NANGO_TAKES = {
    connectionId: `${ALPHANUMERIC} ,.;:=+~[]|@\${}"'\\/_-`,
    providerConfigKey: `${ALPHANUMERIC} ~:.@_-`,
  };

  it.each(['connectionId', 'providerConfigKey'] as const)(
    'nangoIdProblem takes exactly the characters Nango takes in a %s, and names the first it refuses',
    (field) => {
      const others = ['ä', 'é', '€', '😀', '\u00a0', '\u200b', '\t', '\n'];
      for (const char of [...Array.from({ length: 128 }, (_, code) => String.fromCharCode(code)), ...others]) {
        const problem = nangoIdProblem(`ok${char}ok`, field);
        if (NANGO_TAKES[field].includes(char)) expect(problem).toBeUndefined();
        else expect(problem).toContain(`for Nango; ${JSON.stringify(char)} is not one of them`);
      }
      expect(nangoIdProblem('', field)).toMatch(/1 to 255 characters/);
      expect(nangoIdProblem('x'.repeat(255), field)).toBeUndefined();
      expect(nangoIdProblem('x'.repeat(256), field)).toMatch(/1 to 255 characters/);
    },
  );

  it('takes typical ids: emails, UUIDs, stringified JSON', () => {
    for (const id of [
      'user@example.com',
      '6f1c0b8e-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
      '{"org":"acme","user":42}',
      'a b/c\\d',
    ])
      expect(nangoIdProblem(id, 'connectionId')).toBeUndefined();
  });

  it('assertId with Nango’s rules refuses what Nango refuses, with a typed error naming the field', () => {
    expect(assertId('user@example.com', 'connectionId', 'nango')).toBe('user@example.com');
    expect(() => assertId('user:1/ä', 'connectionId', 'nango')).toThrow(
      expect.objectContaining({
        code: 'invalid_request',
        field: 'connectionId',
        message: expect.stringContaining('"ä"'),
      }),
    );
    expect(() => assertId('hubspot#2', 'providerConfigKey', 'nango')).toThrow(
      expect.objectContaining({ code: 'invalid_request', field: 'providerConfigKey' }),
    );
  });

  it('the manager itself keeps taking ids beyond Nango’s set, so stored ones stay reachable', async () => {
    const m = manager();
    await m.create({
      connectionId: 'user:1/ä#2',
      providerConfigKey: 'keys',
      credentials: { type: 'API_KEY', apiKey: 'k' },
    });
    expect((await m.get('user:1/ä#2')).connection_id).toBe('user:1/ä#2');
  });
});

describe('lookups', () => {
  it('throws typed errors for unknown and malformed lookups', async () => {
    const m = manager();
    await expect(m.get('missing')).rejects.toBeInstanceOf(UnknownConnectionError);
    await expect(m.get('missing', { providerConfigKey: 'github' })).rejects.toMatchObject({
      code: 'unknown_connection',
    });
    await expect(m.get('')).rejects.toMatchObject({ code: 'invalid_request', field: 'connectionId' });
    await expect(m.delete('missing')).rejects.toBeInstanceOf(UnknownConnectionError);
    await expect(m.setMetadata('missing', {})).rejects.toBeInstanceOf(UnknownConnectionError);
  });

  it('refuses a bad metadata update and leaves the stored metadata alone', async () => {
    const m = manager();
    await m.create({
      connectionId: 'c',
      providerConfigKey: 'keys',
      credentials: { type: 'API_KEY', apiKey: 'k' },
      metadata: { a: 1 },
    });
    await expect(m.updateMetadata('c', 'nope' as never)).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(m.setMetadata('c', { blob: 'x'.repeat(70_000) })).rejects.toBeInstanceOf(InvalidRequestError);
    expect((await m.get('c')).metadata).toEqual({ a: 1 });
  });
});

describe('configuration', () => {
  it('refuses an integration whose provider is neither in the catalog nor defined inline', () => {
    expect(() => new ConnectionManager({ integrations: { x: { provider: 'nobody-knows' } } })).toThrow(
      InvalidIntegrationError,
    );
  });

  it('refuses plain-HTTP token URLs unless the loopback test switch is on, and then only for loopback', async () => {
    const definition = { authMode: 'OAUTH2' as const, tokenUrl: 'http://192.0.2.1/token' };
    for (const allowInsecureLoopback of [false, true]) {
      const m = new ConnectionManager({
        integrations: { idp: { provider: 'idp', clientId: 'id', clientSecret: 's', definition } },
        http: { allowInsecureLoopback },
        logger: captureLogs().logger,
      });
      await m.create({
        connectionId: 'c',
        providerConfigKey: 'idp',
        credentials: { type: 'OAUTH2', access_token: 'a', refresh_token: 'r', expires_in: 0 },
      });
      await expect(m.get('c')).rejects.toBeInstanceOf(InsecureRequestError);
    }
  });

  it('refuses a connection missing a connection_config field its provider requires, or with a malformed one', async () => {
    const m = manager();
    const credentials = { type: 'OAUTH2', access_token: 'a', refresh_token: 'r', expires_in: 0 };
    await expect(m.create({ connectionId: 'z', providerConfigKey: 'zendesk', credentials })).rejects.toMatchObject({
      code: 'invalid_request',
      field: 'connectionConfig.subdomain',
    });
    await expect(
      m.create({
        connectionId: 'z',
        providerConfigKey: 'zendesk',
        credentials,
        connectionConfig: { subdomain: 'evil.com/x?' },
      }),
    ).rejects.toMatchObject({ field: 'connectionConfig.subdomain' });
    expect((await m.list()).connections).toEqual([]);
  });

  it('names the missing connection_config field instead of calling a URL with a hole in it', async () => {
    const m = new ConnectionManager({
      integrations: {
        tenant: {
          provider: 'tenant-idp',
          clientId: 'id',
          clientSecret: 's',
          definition: { authMode: 'OAUTH2', tokenUrl: 'https://${connectionConfig.tenant}.example.com/token' },
        },
      },
      logger: captureLogs().logger,
    });
    await m.create({
      connectionId: 't',
      providerConfigKey: 'tenant',
      credentials: { type: 'OAUTH2', access_token: 'a', refresh_token: 'r', expires_in: 0 },
    });
    const error = await rejection(m.get('t'));
    expect(error).toBeInstanceOf(MissingTemplateValueError);
    expect((error as MissingTemplateValueError).path).toBe('connectionConfig.tenant');
  });

  it('refuses a token timeout that could outlast the refresh lock lease', () => {
    expect(() => new ConnectionManager({ http: { timeoutMs: 40_000 }, lock: { leaseMs: 30_000 } })).toThrow(
      InvalidRequestError,
    );
  });

  it('applies a provider’s default token lifetime to stored tokens without an expiry', async () => {
    const m = manager();
    const created = await m.create({
      connectionId: 'z',
      providerConfigKey: 'zendesk',
      credentials: { type: 'OAUTH2', access_token: 'a' },
      connectionConfig: { subdomain: 'acme' },
    });
    const expiresAt = Date.parse((created.credentials as { expires_at: string }).expires_at);
    expect(expiresAt - Date.now()).toBeGreaterThan(29 * 24 * 3600_000);
    const error = new InvalidCredentialsError('x', 'credentials.x');
    expect(error.toJSON()).toEqual({
      name: 'InvalidCredentialsError',
      code: 'invalid_credentials',
      message: 'x',
      field: 'credentials.x',
    });
  });
});

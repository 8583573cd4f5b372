import { getProviders } from '@nangohq/providers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { captureLogs } from '../support/logs.js';
import {
  ConnectionManager,
  fromNangoProviders,
  type IntegrationConfig,
  type ProviderDefinition,
} from '../../src/index.js';
import { REQUEST_VALUE_NAMES, templateValueNames } from '../../src/providers/template.js';

/**
 * Reads Nango's real catalog (the `@nangohq/providers` devDependency; Latchkey does not ship it).
 * The numbers are floors: a change that makes fewer entries usable fails here.
 */
const catalog = getProviders() as Record<string, unknown>;
const imported = fromNangoProviders(catalog);

/** Auth modes of the catalog Latchkey does not support: none, since every one of 0.71.10 is. */
const UNSUPPORTED_MODES: string[] = [];

/** Entries of supported modes that need something Latchkey lacks, and what. */
const KNOWN_GAPS: Record<string, string> = {};

/** Usable entries whose own data asks for a value their mode never has. */
const DATA_DEFECTS: Record<string, string> = {
  'certn-partner': 'an OAUTH2_CC entry whose proxy header reads ${apiKey}, which only API_KEY connections have',
};

const MODES_WITH_ACCESS_TOKEN = new Set([
  'OAUTH2',
  'OAUTH2_CC',
  'JWT',
  'TWO_STEP',
  'SIGNATURE',
  'APP',
  'CUSTOM',
  'APP_STORE',
  'BILL',
  'API_KEY',
]);

/** The value names Latchkey supplies to one part of a definition, for this entry. */
function supplied(definition: ProviderDefinition, part: string, step: number): (name: string) => boolean {
  const always = (name: string) => /^(connectionConfig|credentials)\./.test(name);
  switch (part) {
    case 'proxy':
    case 'verification':
      return (name) =>
        always(name) ||
        ['clientId', 'clientSecret'].includes(name) ||
        (name === 'accessToken' && MODES_WITH_ACCESS_TOKEN.has(definition.authMode)) ||
        (name === 'apiKey' && definition.authMode === 'API_KEY') ||
        (part === 'proxy' && REQUEST_VALUE_NAMES.includes(name));
    case 'jwt':
      return (name) => always(name) || name === 'publicKeyFingerprint';
    case 'twoStep':
      return (name) =>
        always(name) ||
        ['refreshToken', 'refresh_token', 'clientId'].includes(name) ||
        (name === 'token' && definition.twoStep?.assertion !== undefined) ||
        Number(/^step(\d+)\./.exec(name)?.[1] ?? Infinity) <= step;
    default:
      return always;
  }
}

describe("Nango's provider catalog", () => {
  it('loads every entry of a supported auth mode', () => {
    const total = Object.keys(catalog).length;
    const usable = Object.keys(imported.providers).length;
    console.info(`Nango catalog: ${total} entries, ${usable} usable by Latchkey, ${imported.skipped.length} skipped`);
    expect(total).toBeGreaterThan(900);
    expect(usable).toBeGreaterThanOrEqual(1013);
    const byMode = imported.skipped.filter((s) => s.reason.startsWith('auth mode'));
    for (const { reason } of byMode)
      expect(UNSUPPORTED_MODES.some((mode) => reason === `auth mode ${mode} is not supported`)).toBe(true);
    const failures = imported.skipped.filter((s) => !s.reason.startsWith('auth mode')).map((s) => s.name);
    expect(failures.sort()).toEqual(Object.keys(KNOWN_GAPS).sort());
    expect(usable + byMode.length + failures.length).toBe(total);
  });

  it('resolves every usable entry into a working integration', () => {
    const integrations: Record<string, IntegrationConfig> = {};
    for (const name of Object.keys(imported.providers))
      integrations[`int-${name}`] = { provider: name, clientId: 'id', clientSecret: 'secret' };
    const manager = new ConnectionManager({
      providers: imported.providers,
      integrations,
      logger: captureLogs().logger,
    });
    expect(manager).toBeInstanceOf(ConnectionManager);
  });

  it('every template of a usable entry reads only values Latchkey supplies to that part', () => {
    const unsupplied: string[] = [];
    for (const [name, definition] of Object.entries(imported.providers)) {
      const check = (value: unknown, part: string, step: number) => {
        if (typeof value === 'string' && value.includes('${')) {
          const isSupplied = supplied(definition, part, step);
          for (const valueName of templateValueNames(value))
            if (!isSupplied(valueName)) unsupplied.push(`${name} ${part}: \${${valueName}}`);
        } else if (value !== null && typeof value === 'object') {
          for (const inner of Object.values(value)) check(inner, part, step);
        }
      };
      for (const [part, value] of Object.entries(definition)) {
        if (part !== 'twoStep') check(value, part, 0);
      }
      const twoStep = definition.twoStep;
      if (twoStep) {
        check([twoStep.tokenRequest, twoStep.refreshRequest, twoStep.assertion], 'twoStep', 0);
        twoStep.additionalSteps?.forEach((request, index) => check(request, 'twoStep', index + 1));
      }
    }
    const defects = Object.keys(DATA_DEFECTS);
    expect(unsupplied.filter((line) => !defects.includes(line.split(' ')[0] as string))).toEqual([]);
    expect([...new Set(unsupplied.map((line) => line.split(' ')[0]))].sort()).toEqual(defects.sort());
  });

  it('reads a damaged catalog entry by entry: each is usable or skipped with a reason, never a crash (fast-check)', () => {
    const names = Object.keys(catalog);
    const damagedEntry = fc.record({
      name: fc.constantFrom(...names),
      field: fc.constantFrom(
        'auth_mode',
        'token_url',
        'proxy',
        'token_params',
        'token_response',
        'assertion',
        'additional_steps',
        'connection_config',
        'credentials',
        'authorization_url_replacements',
        'alias',
        'token',
      ),
      value: fc.oneof(fc.anything({ maxDepth: 2 }), fc.constantFrom('${', '${now:', '${base64(x', '${unknownFn(x)}')),
    });
    fc.assert(
      fc.property(fc.array(damagedEntry, { minLength: 1, maxLength: 5 }), (damage) => {
        const damaged: Record<string, unknown> = {};
        for (const { name, field, value } of damage)
          damaged[name] = { ...(catalog[name] as object), ...(damaged[name] as object), [field]: value };
        const result = fromNangoProviders({ ...catalog, ...damaged });
        expect(Object.keys(result.providers).length + result.skipped.length).toBe(names.length);
        for (const { reason } of result.skipped) expect(typeof reason).toBe('string');
        // What was kept resolves into integrations like any other entry.
        const kept = Object.keys(damaged).filter((name) => result.providers[name]);
        const integrations = Object.fromEntries(
          kept.map((name) => [name, { provider: name, clientId: 'id', clientSecret: 's' }]),
        );
        expect(
          new ConnectionManager({ providers: result.providers, integrations, logger: captureLogs().logger }),
        ).toBeInstanceOf(ConnectionManager);
      }),
      { numRuns: 60 },
    );
  });

  it('skips only entries it cannot use; an error of the converter itself fails the import', () => {
    const { providers, skipped } = fromNangoProviders({
      ok: { auth_mode: 'API_KEY', proxy: { base_url: 'https://api.example.com' } },
      future: { auth_mode: 'OAUTH3' },
      text: 'not an entry',
      orphan: { alias: 'nobody' },
      loop: { alias: 'loop' },
      unknownFunction: { auth_mode: 'API_KEY', proxy: { base_url: 'https://x.example.com/${unknownFn(a)}' } },
      appWithoutUrl: { auth_mode: 'APP', token_url: 'not a url' },
    });
    expect(Object.keys(providers)).toEqual(['ok']);
    expect(Object.fromEntries(skipped.map(({ name, reason }) => [name, reason]))).toEqual({
      future: 'auth mode OAUTH3 is not supported',
      text: 'not an object',
      orphan: 'not an object',
      loop: 'alias cycle through loop',
      unknownFunction: expect.stringMatching(/^Unknown template function unknownFn\(\)/),
      appWithoutUrl: 'token_url not a url is not a URL',
    });
    // Reading the entry throws a TypeError: a fault, not an unsupported provider.
    const faulty = {
      auth_mode: 'API_KEY',
      get proxy(): never {
        throw new TypeError('Cannot read properties of undefined');
      },
    };
    expect(() => fromNangoProviders({ ok: { auth_mode: 'NONE' }, faulty })).toThrow(TypeError);
  });

  it('every OAuth 2.0 entry starts a connect flow, or names the connection field it still needs', async () => {
    const started: string[] = [];
    const needs: string[] = [];
    // Entries whose authorization host comes whole from an unlisted field: the app names allowedHosts.
    const needHosts: string[] = [];
    for (const [name, definition] of Object.entries(imported.providers)) {
      if (!['OAUTH2', 'CUSTOM', 'APP'].includes(definition.authMode) || !definition.authorizationUrl) continue;
      const manager = new ConnectionManager({
        providers: imported.providers,
        integrations: { x: { provider: name, clientId: 'id', clientSecret: 's', appId: '1', appPrivateKey: 'k' } },
        logger: captureLogs().logger,
      });
      try {
        const { url } = await manager.authorize({
          providerConfigKey: 'x',
          connectionId: 'c',
          redirectUri: 'https://app.example.com/oauth/callback',
          connectionConfig: exampleConnectionConfig(name),
        });
        expect(new URL(url).protocol).toBe('https:');
        started.push(name);
      } catch (error) {
        if ((error as { code?: string }).code === 'disallowed_host') {
          needHosts.push(name);
          continue;
        }
        // Fields Nango gives no example for: the app must supply them, and is told which.
        const field = (error as { field?: string; path?: string }).field ?? (error as { path?: string }).path;
        expect(field, `${name}: ${(error as Error).message}`).toMatch(/^connectionConfig\./);
        needs.push(name);
      }
    }
    console.info(
      `OAuth 2.0 connect flows: ${started.length} start from Nango's examples, ${needs.length} need a field, ${needHosts.length} need allowedHosts`,
    );
    expect(started.length + needHosts.length).toBeGreaterThanOrEqual(340);
  });

  it('carries each quirk over', () => {
    const { providers } = imported;
    expect(providers.hubspot).toMatchObject({
      authMode: 'OAUTH2',
      tokenUrl: 'https://api.hubapi.com/oauth/v1/token',
      proxy: { baseUrl: 'https://api.hubapi.com' },
    });
    expect(providers.salesforce?.tokenResponseMetadata).toEqual(['instance_url']);
    expect(providers.slack).toMatchObject({
      scopeSeparator: ',',
      alternateAccessTokenResponsePath: 'authed_user',
      pkce: false,
    });
    expect(providers.notion).toMatchObject({
      bodyFormat: 'json',
      proxy: { headers: { 'notion-version': '2022-06-28' } },
    });
    expect(providers.pipedrive?.tokenRequestAuthMethod).toBe('client_secret_basic');
    expect(providers['github-app']).toMatchObject({ authMode: 'APP', apiBaseUrl: 'https://api.github.com' });
    expect(providers['github-app-oauth']).toMatchObject({
      authMode: 'CUSTOM',
      tokenUrl: 'https://github.com/login/oauth/access_token',
    });
    expect(providers['ghost-admin']?.jwt).toMatchObject({
      algorithm: 'HS256',
      lifetimeSeconds: 300,
      payload: { aud: '/admin/' },
    });
    expect(providers.emarsys?.authMode).toBe('SIGNATURE');
    // AWS entries also sign with a BASIC connection's session token, when it has one.
    expect(providers['aws-iam']?.proxy?.headers?.authorization).toBe(
      '${awsSigV4(${credentials.username}, ${credentials.password}, us-east-1, iam, , ${credentials.sessionToken})} || ${awsSigV4(${credentials.username}, ${credentials.password}, us-east-1, iam)}',
    );
    // An alias inherits its parent's endpoints.
    expect(providers.confluence?.tokenUrl).toBe(providers.jira?.tokenUrl);
    // grant_type is openid-client's to set; Nango's copies are dropped.
    expect(providers.atlassian?.refreshParams).toBeUndefined();
  });
});

/** A connection's `connection_config` from the examples, defaults and first enum values of Nango's entry. */
function exampleConnectionConfig(name: string): Record<string, string> {
  let entry = catalog[name] as Record<string, unknown>;
  while (typeof entry.alias === 'string')
    entry = {
      ...(catalog[entry.alias] as object),
      ...entry,
      alias: (catalog[entry.alias] as { alias?: string }).alias,
    };
  const config: Record<string, string> = {};
  for (const [field, spec] of Object.entries(
    (entry.connection_config ?? {}) as Record<string, Record<string, unknown>>,
  )) {
    const value = spec.example ?? spec.default_value ?? (Array.isArray(spec.enum) ? spec.enum[0] : undefined);
    if (value !== undefined) config[field] = String(value);
  }
  return config;
}

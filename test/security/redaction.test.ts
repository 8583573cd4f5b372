import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CreateConnectionInput } from '../../src/index.js';
import { pemKeyPair } from '../support/keys.js';
import { captureLogs } from '../support/logs.js';
import { testManager } from '../support/manager.js';
import { answer } from '../support/answer.js';

/**
 * A provider at its worst: every endpoint refuses, echoing back everything it was sent — body,
 * headers, query — in each field a client might copy into an error.
 */
async function startEchoingProvider() {
  const server = createServer(
    answer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const echo = `${req.method} ${req.url} ${JSON.stringify(req.headers)} ${Buffer.concat(chunks).toString('utf8')}`;
      const decoded = decodeURIComponent(echo.replace(/\+/g, ' '));
      const status = req.url?.includes('/server-error') ? 500 : 400;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(
        req.url?.includes('/bill')
          ? JSON.stringify([{ code: decoded.slice(0, 80), message: decoded }])
          : JSON.stringify({ error: decoded.slice(0, 200), error_description: decoded, message: decoded }),
      );
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let provider: Awaited<ReturnType<typeof startEchoingProvider>>;
beforeAll(async () => {
  provider = await startEchoingProvider();
});
afterAll(async () => {
  await provider.close();
});

it('no error message, error JSON, inspected error, log line or inspected manager contains a secret, on any mode’s error paths', async () => {
  const appKey = await pemKeyPair('RS256');
  const jwtKey = await pemKeyPair('ES256');
  const secrets = {
    oauthAccess: 'SECRET-ACCESS-0a1b2c',
    oauthRefresh: 'SECRET-REFRESH-3d4e5f',
    clientSecret: 'SECRET-CLIENTSECRET-6a7b',
    ccSecret: 'SECRET-CCSECRET-8c9d',
    userRefresh: 'SECRET-USERREFRESH-0e1f',
    billPassword: 'SECRET-BILLPASSWORD-2a3b',
    billDevKey: 'SECRET-DEVKEY-4c5d',
    twoStepKey: 'SECRET-TWOSTEPKEY-6e7f',
    tokenSecret: 'SECRET-TOKENSECRET-8a9b',
    wssePassword: 'SECRET-WSSE-0c1d',
    apiKey: 'SECRET-APIKEY-2e3f',
    basicPassword: 'SECRET-BASIC-4a5b',
    appKeyBody: appKey.privateKey.split('\n')[1] as string,
    jwtKeyBody: jwtKey.privateKey.split('\n')[1] as string,
  };
  const { logger, lines } = captureLogs();
  const echo = provider.url;
  const manager = testManager({
    integrations: {
      oauth2: {
        provider: 'p',
        clientId: 'cid',
        clientSecret: secrets.clientSecret,
        definition: { authMode: 'OAUTH2', tokenUrl: `${echo}/token` },
      },
      oauth2basic: {
        provider: 'p',
        clientId: 'cid',
        clientSecret: secrets.clientSecret,
        definition: {
          authMode: 'OAUTH2',
          tokenUrl: `${echo}/server-error`,
          tokenRequestAuthMethod: 'client_secret_basic',
        },
      },
      cc: { provider: 'p', definition: { authMode: 'OAUTH2_CC', tokenUrl: `${echo}/token` } },
      app: {
        provider: 'gh',
        appId: '1',
        appPrivateKey: appKey.privateKey,
        definition: { authMode: 'APP', apiBaseUrl: echo },
      },
      custom: {
        provider: 'gh',
        appId: '1',
        appPrivateKey: appKey.privateKey,
        clientId: 'cid',
        clientSecret: secrets.clientSecret,
        definition: { authMode: 'CUSTOM', apiBaseUrl: echo, tokenUrl: `${echo}/token` },
      },
      bill: { provider: 'bill', definition: { authMode: 'BILL', tokenUrl: `${echo}/bill/login` } },
      twostep: {
        provider: 't',
        definition: {
          authMode: 'TWO_STEP',
          twoStep: {
            tokenRequest: { url: `${echo}/auth?key=\${credentials.apiKey}`, body: { apiKey: '${credentials.apiKey}' } },
            tokenPath: 'token',
          },
        },
      },
      jwt: {
        provider: 'j',
        definition: { authMode: 'JWT', jwt: { payload: { iss: '${connectionConfig.missing}' }, lifetimeSeconds: 60 } },
      },
      appstore: { provider: 'a', definition: { authMode: 'APP_STORE' } },
      tba: { provider: 'ns', definition: { authMode: 'TBA' } },
      oauth1: { provider: 'o', definition: { authMode: 'OAUTH1' } },
      signature: { provider: 's', definition: { authMode: 'SIGNATURE' } },
      apikey: { provider: 'k', definition: { authMode: 'API_KEY' } },
      basic: { provider: 'b', definition: { authMode: 'BASIC' } },
      none: { provider: 'n', definition: { authMode: 'NONE' } },
    },
    logger,
  });
  const past = new Date(Date.now() - 60_000).toISOString();
  const errors: unknown[] = [];
  const attempt = async (operation: () => Promise<unknown>) => {
    const error = await operation().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, String(operation)).toBeDefined();
    errors.push(error);
  };
  const create = (input: CreateConnectionInput) => manager.create(input);
  // Each `get` is tried three times: the failing refresh, then back-off or exhaustion, then forced.
  const failThrice = async (id: string) => {
    await attempt(() => manager.get(id));
    await attempt(() => manager.get(id));
    await attempt(() => manager.get(id, true));
  };

  await create({
    connectionId: 'o2',
    providerConfigKey: 'oauth2',
    credentials: {
      type: 'OAUTH2',
      access_token: secrets.oauthAccess,
      refresh_token: secrets.oauthRefresh,
      expires_at: past,
    },
  });
  await failThrice('o2');
  await create({
    connectionId: 'o2b',
    providerConfigKey: 'oauth2basic',
    credentials: {
      type: 'OAUTH2',
      access_token: secrets.oauthAccess,
      refresh_token: secrets.oauthRefresh,
      expires_at: past,
    },
  });
  await failThrice('o2b');
  await create({
    connectionId: 'o2x',
    providerConfigKey: 'oauth2',
    credentials: { type: 'OAUTH2', access_token: secrets.oauthAccess, expires_at: past },
  });
  await attempt(() => manager.get('o2x'));
  await create({
    connectionId: 'cc',
    providerConfigKey: 'cc',
    credentials: { type: 'OAUTH2_CC', client_id: 'cid', client_secret: secrets.ccSecret },
  });
  await failThrice('cc');
  await create({
    connectionId: 'app',
    providerConfigKey: 'app',
    credentials: { type: 'APP' },
    connectionConfig: { installation_id: '1' },
  });
  await failThrice('app');
  await create({
    connectionId: 'custom',
    providerConfigKey: 'custom',
    credentials: {
      type: 'CUSTOM',
      raw: { user: { access_token: 'u', refresh_token: secrets.userRefresh, expires_at: past } },
    },
    connectionConfig: { installation_id: '1' },
  });
  await failThrice('custom');
  await create({
    connectionId: 'bill',
    providerConfigKey: 'bill',
    credentials: {
      type: 'BILL',
      username: 'u',
      password: secrets.billPassword,
      organization_id: 'o',
      dev_key: secrets.billDevKey,
    },
  });
  await failThrice('bill');
  await create({
    connectionId: 'two',
    providerConfigKey: 'twostep',
    credentials: { type: 'TWO_STEP', apiKey: secrets.twoStepKey },
  });
  await failThrice('two');
  await create({
    connectionId: 'jwt',
    providerConfigKey: 'jwt',
    credentials: { type: 'JWT', privateKey: jwtKey.privateKey },
  });
  await attempt(() => manager.get('jwt'));
  await create({
    connectionId: 'tba',
    providerConfigKey: 'tba',
    credentials: { type: 'TBA', token_id: 't', token_secret: secrets.tokenSecret },
    connectionConfig: { accountId: '1' },
  });
  await attempt(() => manager.signRequest('tba', { method: 'GET', url: 'https://example.com' }));
  await create({
    connectionId: 'oauth1',
    providerConfigKey: 'oauth1',
    credentials: { type: 'OAUTH1', oauth_token: 't', oauth_token_secret: secrets.tokenSecret },
  });
  await attempt(() => manager.signRequest('oauth1', { method: 'GET', url: 'https://example.com' }));
  await create({
    connectionId: 'key',
    providerConfigKey: 'apikey',
    credentials: { type: 'API_KEY', apiKey: secrets.apiKey },
  });
  await attempt(() => manager.signRequest('key', { method: 'GET', url: 'https://example.com' }));

  // Refused input that carries secrets: the error names the field, never the value.
  await attempt(() =>
    create({
      connectionId: 'x1',
      providerConfigKey: 'appstore',
      credentials: { type: 'APP_STORE', private_key: secrets.apiKey },
      connectionConfig: { privateKeyId: 'k', issuerId: 'i' },
    }),
  );
  await attempt(() =>
    create({
      connectionId: 'x2',
      providerConfigKey: 'signature',
      credentials: { type: 'SIGNATURE', username: 5, password: secrets.wssePassword },
    }),
  );
  await attempt(() =>
    create({
      connectionId: 'x3',
      providerConfigKey: 'apikey',
      credentials: { type: 'API_KEY', apiKey: secrets.apiKey, leaked: secrets.apiKey },
    }),
  );
  await attempt(() =>
    create({
      connectionId: 'x4',
      providerConfigKey: 'basic',
      credentials: { type: 'BASIC', username: secrets.basicPassword, password: 7 },
    }),
  );
  await attempt(() =>
    create({ connectionId: 'x5', providerConfigKey: 'none', credentials: { type: 'NONE', token: secrets.apiKey } }),
  );
  await attempt(() =>
    create({
      connectionId: 'x6',
      providerConfigKey: 'jwt',
      credentials: {
        type: 'JWT',
        privateKey: `-----BEGIN PRIVATE KEY-----\n${secrets.jwtKeyBody}x\n-----END PRIVATE KEY-----`,
      },
    }),
  );
  await attempt(() =>
    create({
      connectionId: 'x7',
      providerConfigKey: 'oauth2',
      credentials: { type: 'OAUTH2', access_token: secrets.oauthAccess, expires_at: secrets.oauthRefresh },
    }),
  );

  const output = [
    ...errors.flatMap((error) => [
      String((error as Error).message),
      JSON.stringify(error),
      inspect(error, { depth: 10 }),
    ]),
    ...lines,
    inspect(manager, { depth: 10, showHidden: true }),
  ].join('\n');
  expect(errors.length).toBeGreaterThan(30);
  for (const [name, secret] of Object.entries(secrets)) {
    const at = output.indexOf(secret);
    expect(at === -1, `${name} leaked: ${output.slice(Math.max(0, at - 300), at + 50)}`).toBe(true);
  }
  // The errors are still informative: codes and log ids are there.
  expect(output).toContain('refresh_exhausted');
  expect(output).toContain('invalid_credentials');
  await manager.close();
});

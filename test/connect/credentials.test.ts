import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AuthorizationError } from '../../src/index.js';
import { testManager } from '../support/manager.js';
import { testScope } from '../support/scope.js';
import { startOAuth1Api } from '../support/oauth1-verifier.js';

const { defer } = testScope();

/** An API whose verification endpoint accepts only the given credentials. */
async function startApi(accepts: (headers: IncomingMessage['headers'], path: string) => boolean) {
  const server = createServer((req, res) => {
    const ok = accepts(req.headers, req.url ?? '');
    res
      .writeHead(ok ? 200 : 401, { 'content-type': 'application/json' })
      .end(ok ? '{"ok":true}' : '{"error":"unauthorized"}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('connect: submitted credentials are checked before they are stored', () => {
  it('API_KEY: stores a key the verification request accepts, refuses one it does not', async () => {
    const api = await startApi((headers) => headers.authorization === 'Bearer sk-good');
    const manager = testManager({
      integrations: {
        openai: {
          provider: 'openai',
          definition: { authMode: 'API_KEY', proxy: { baseUrl: api }, verification: { path: '/v1/models' } },
        },
      },
    });
    const refused = (await manager
      .connect({ connectionId: 'c', providerConfigKey: 'openai', credentials: { type: 'API_KEY', apiKey: 'sk-bad' } })
      .catch((e: unknown) => e)) as AuthorizationError;
    expect(refused).toBeInstanceOf(AuthorizationError);
    expect(refused).toMatchObject({ errorType: 'verification_failed', connectionId: 'c' });
    expect(refused.message).not.toContain('sk-bad');
    expect((await manager.list()).connections).toEqual([]);
    const stored = await manager.connect({
      connectionId: 'c',
      providerConfigKey: 'openai',
      credentials: { type: 'API_KEY', apiKey: 'sk-good' },
    });
    expect(stored.credentials).toEqual({ type: 'API_KEY', apiKey: 'sk-good' });
  });

  it('BASIC: the verification request goes out with the Basic header', async () => {
    const api = await startApi(
      (headers) => headers.authorization === `Basic ${Buffer.from('me@acme.test:token-1').toString('base64')}`,
    );
    const manager = testManager({
      integrations: {
        jira: {
          provider: 'jira-basic',
          definition: { authMode: 'BASIC', proxy: { baseUrl: api }, verification: { path: '/rest/api/3/myself' } },
        },
      },
    });
    await expect(
      manager.connect({
        connectionId: 'j',
        providerConfigKey: 'jira',
        credentials: { type: 'BASIC', username: 'me@acme.test', password: 'wrong' },
      }),
    ).rejects.toBeInstanceOf(AuthorizationError);
    await manager.connect({
      connectionId: 'j',
      providerConfigKey: 'jira',
      credentials: { type: 'BASIC', username: 'me@acme.test', password: 'token-1' },
    });
    expect((await manager.list()).connections.map((c) => c.connection_id)).toEqual(['j']);
  });

  it('TBA and SIGNATURE: verified with a signed request', async () => {
    const netsuite = await startOAuth1Api({
      consumerKey: 'ck',
      consumerSecret: 'cs',
      token: 'tid',
      tokenSecret: 'tsec',
      signatureMethod: 'HMAC-SHA256',
      realm: '777',
    });
    defer(() => netsuite.close());
    const emarsys = await startApi((headers) => String(headers['x-wsse']).includes('Username="acme001"'));
    const manager = testManager({
      integrations: {
        ns: {
          provider: 'netsuite-tba',
          clientId: 'ck',
          clientSecret: 'cs',
          definition: {
            proxy: { baseUrl: netsuite.url },
            verification: { path: '/services/rest/record/v1/metadata-catalog' },
          },
        },
        em: {
          provider: 'emarsys',
          definition: { proxy: { baseUrl: emarsys }, verification: { path: '/api/v2/settings' } },
        },
      },
    });
    await expect(
      manager.connect({
        connectionId: 'a',
        providerConfigKey: 'ns',
        credentials: { type: 'TBA', token_id: 'tid', token_secret: 'wrong' },
        connectionConfig: { accountId: '777' },
      }),
    ).rejects.toMatchObject({ errorType: 'verification_failed' });
    await manager.connect({
      connectionId: 'a',
      providerConfigKey: 'ns',
      credentials: { type: 'TBA', token_id: 'tid', token_secret: 'tsec' },
      connectionConfig: { accountId: '777' },
    });
    await manager.connect({
      connectionId: 'e',
      providerConfigKey: 'em',
      credentials: { type: 'SIGNATURE', username: 'acme001', password: 'secret' },
    });
    expect((await manager.list()).connections.map((c) => c.connection_id).sort()).toEqual(['a', 'e']);
  });

  it('modes that mint (TWO_STEP here) prove the credentials by minting, and store nothing when refused', async () => {
    const exchange = await startApi((headers) => headers['x-api-key'] === 'good-key');
    const manager = testManager({
      integrations: {
        vendor: {
          provider: 'vendor',
          definition: {
            authMode: 'TWO_STEP',
            twoStep: {
              tokenRequest: {
                url: `${exchange}/token`,
                method: 'GET',
                headers: { 'X-Api-Key': '${credentials.apiKey}' },
              },
              tokenPath: 'ok',
            },
          },
        },
      },
    });
    const refused = await manager
      .connect({ connectionId: 'v', providerConfigKey: 'vendor', credentials: { type: 'TWO_STEP', apiKey: 'bad-key' } })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'authorization_failed', errorType: 'invalid_credentials' });
    expect((await manager.list()).connections).toEqual([]);
  });
});

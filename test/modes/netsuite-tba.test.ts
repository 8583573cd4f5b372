import { describe, expect, it } from 'vitest';
import { netsuiteRealm } from '../../src/modes/netsuite-tba.js';
import { testManager } from '../support/manager.js';
import { startOAuth1Api } from '../support/oauth1-verifier.js';
import { strategySuite } from './strategy-suite.js';

const integrationConsumer = { consumerKey: 'integration-consumer', consumerSecret: 'integration-secret' };
const tokens = { token: 'token-id-1', tokenSecret: 'token-secret-1' };

function netsuite(consumer = integrationConsumer) {
  return testManager({
    integrations: {
      netsuite: {
        provider: 'netsuite-tba',
        clientId: consumer.consumerKey,
        clientSecret: consumer.consumerSecret,
        definition: { authMode: 'TBA' },
      },
    },
  });
}

describe('TBA (NetSuite)', () => {
  it('turns the account id into NetSuite’s realm', () => {
    expect(netsuiteRealm('1234567-sb1')).toBe('1234567_SB1');
    expect(netsuiteRealm('tstdrv123')).toBe('TSTDRV123');
  });

  it('signs with HMAC-SHA256 and the realm, accepted by a NetSuite-like verifier', async () => {
    const api = await startOAuth1Api({
      ...integrationConsumer,
      ...tokens,
      signatureMethod: 'HMAC-SHA256',
      realm: '1234567_SB1',
    });
    const manager = netsuite();
    await manager.create({
      connectionId: 'acme',
      providerConfigKey: 'netsuite',
      credentials: { type: 'TBA', token_id: tokens.token, token_secret: tokens.tokenSecret },
      connectionConfig: { accountId: '1234567-sb1' },
    });
    const url = `${api.url}/services/rest/record/v1/customer?limit=10`;
    const response = await fetch(url, { headers: await manager.signRequest('acme', { method: 'GET', url }) });
    expect(api.refusals).toEqual([]);
    expect(response.status).toBe(200);
    await manager.close();
    await api.close();
  });

  it('takes the consumer key and secret from config_override when given', async () => {
    const own = { consumerKey: 'per-connection-consumer', consumerSecret: 'per-connection-secret' };
    const api = await startOAuth1Api({ ...own, ...tokens, signatureMethod: 'HMAC-SHA256', realm: 'TSTDRV9' });
    const manager = netsuite();
    await manager.create({
      connectionId: 'override',
      providerConfigKey: 'netsuite',
      credentials: {
        type: 'TBA',
        token_id: tokens.token,
        token_secret: tokens.tokenSecret,
        config_override: { client_id: own.consumerKey, client_secret: own.consumerSecret },
      },
      connectionConfig: { accountId: 'tstdrv9' },
    });
    const url = `${api.url}/services/rest/query/v1/suiteql`;
    const response = await fetch(url, {
      method: 'POST',
      headers: await manager.signRequest('override', { method: 'POST', url }),
    });
    expect(api.refusals).toEqual([]);
    expect(response.status).toBe(200);
    await manager.close();
    await api.close();
  });
});

strategySuite(
  'TBA',
  async () => {
    const api = await startOAuth1Api({
      ...integrationConsumer,
      ...tokens,
      signatureMethod: 'HMAC-SHA256',
      realm: '555_SB2',
    });
    const manager = netsuite();
    return {
      manager,
      input: {
        connectionId: 'suite',
        providerConfigKey: 'netsuite',
        credentials: { type: 'TBA', token_id: tokens.token, token_secret: tokens.tokenSecret },
        connectionConfig: { accountId: '555-sb2' },
      },
      async verify(connection) {
        expect(connection.credentials).toEqual({
          type: 'TBA',
          token_id: tokens.token,
          token_secret: tokens.tokenSecret,
          config_override: {},
        });
        const url = `${api.url}/record`;
        expect((await fetch(url, { headers: await manager.signRequest('suite', { method: 'GET', url }) })).status).toBe(
          200,
        );
      },
      async close() {
        await manager.close();
        await api.close();
      },
    };
  },
  [
    ['a missing token secret', { type: 'TBA', token_id: 't' }, 'credentials.token_secret'],
    [
      'a config_override with other keys',
      { type: 'TBA', token_id: 't', token_secret: 's', config_override: { realm: 'x' } },
      'credentials.config_override.realm',
    ],
  ],
);

it('TBA refuses a connection without connectionConfig.accountId', async () => {
  const manager = netsuite();
  const error = await manager
    .create({
      connectionId: 'c',
      providerConfigKey: 'netsuite',
      credentials: { type: 'TBA', token_id: 't', token_secret: 's' },
    })
    .catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'invalid_request', field: 'connectionConfig.accountId' });
  expect((await manager.list()).connections).toEqual([]);
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectionManager } from '../../src/index.js';
import { oauth1AuthorizationHeader, oauth1BaseString } from '../../src/signing/oauth1.js';
import { testManager } from '../support/manager.js';
import {
  baseString,
  expectedSignature,
  parseAuthorizationHeader,
  startOAuth1Api,
  type OAuth1Api,
} from '../support/oauth1-verifier.js';
import { strategySuite } from './strategy-suite.js';

const consumer = { consumerKey: 'consumer-key', consumerSecret: 'consumer secret&+' };
const token = { token: 'user-token', tokenSecret: 'user/token secret' };

describe('RFC 5849 §3.4.1 example', () => {
  // The request of RFC 5849 §3.1; its signature base string is printed in §3.4.1.1.
  const example = {
    consumerKey: '9djdj82h48djs9d2',
    consumerSecret: 'j49sk3j29djd',
    token: 'kkk9d7dh3k39sjv7',
    tokenSecret: 'dh893hdasih9',
    signatureMethod: 'HMAC-SHA1' as const,
    realm: 'Example',
    nonce: '7d8f3e4a',
    timestamp: 137131201,
    method: 'POST',
    url: 'http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b',
    form: 'c2&a3=2+q',
  };
  const rfcBaseString =
    'POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7';

  it('builds the base string of §3.4.1.1, oauth_version aside', () => {
    // The RFC's example omits the optional oauth_version, which Latchkey sends as "1.0".
    const ours = oauth1BaseString(example);
    expect(ours.replace('%26oauth_version%3D1.0', '')).toBe(rfcBaseString);
  });

  it('signs it as HMAC-SHA1 of that base string under consumer secret & token secret', () => {
    const header = parseAuthorizationHeader(oauth1AuthorizationHeader(example));
    expect(header.get('realm')).toBe('Example');
    expect(header.get('oauth_version')).toBe('1.0');
    const base = baseString('POST', new URL(example.url), header, new URLSearchParams(example.form));
    expect(header.get('oauth_signature')).toBe(
      expectedSignature('HMAC-SHA1', base, example.consumerSecret, example.tokenSecret),
    );
    // Without oauth_version the signature is r6/TJjbCOr97/+UU0NsvSne7s5g= (computed with Python's hmac
    // from the RFC's base string; the RFC's own printed value does not match its base string).
    const withoutVersion = expectedSignature('HMAC-SHA1', rfcBaseString, example.consumerSecret, example.tokenSecret);
    expect(withoutVersion).toBe('r6/TJjbCOr97/+UU0NsvSne7s5g=');
  });
});

describe.each(['HMAC-SHA1', 'HMAC-SHA256', 'PLAINTEXT'] as const)(
  'OAUTH1 signed requests with %s',
  (signatureMethod) => {
    let api: OAuth1Api;
    let manager: ConnectionManager;
    beforeAll(async () => {
      api = await startOAuth1Api({ ...consumer, ...token, signatureMethod });
    });
    beforeEach(async () => {
      manager = testManager({
        integrations: {
          twitter: {
            provider: 'twitter-v1',
            clientId: consumer.consumerKey,
            clientSecret: consumer.consumerSecret,
            definition: { authMode: 'OAUTH1', signatureMethod },
          },
        },
      });
      await manager.create({
        connectionId: 'u1',
        providerConfigKey: 'twitter',
        credentials: { type: 'OAUTH1', oauth_token: token.token, oauth_token_secret: token.tokenSecret },
      });
    });
    afterAll(async () => {
      await api.close();
    });

    it('signs a GET with a query, accepted by the verifying server', async () => {
      const url = `${api.url}/1.1/statuses/home_timeline.json?count=5&include_entities=true&q=a%20b`;
      const headers = await manager.signRequest('u1', { method: 'GET', url });
      const response = await fetch(url, { headers });
      expect(api.refusals).toEqual([]);
      expect(response.status).toBe(200);
    });

    it('signs a form POST whose body parameters share a name with the query', async () => {
      const url = `${api.url}/1.1/statuses/update.json?status=query`;
      const form = new URLSearchParams({
        status: 'Hello Ladies + Gentlemen, a signed OAuth request!',
        include_entities: 'true',
      });
      const headers = await manager.signRequest('u1', { method: 'POST', url, form });
      const response = await fetch(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
      expect(api.refusals).toEqual([]);
      expect(response.status).toBe(200);
    });

    it('a tampered request is refused: the verifier is not a rubber stamp', async () => {
      const headers = await manager.signRequest('u1', { method: 'GET', url: `${api.url}/resource?a=1` });
      const response = await fetch(`${api.url}/resource?a=2`, { headers });
      expect(response.status).toBe(signatureMethod === 'PLAINTEXT' ? 200 : 401);
    });
  },
);

strategySuite(
  'OAUTH1',
  async () => {
    const api = await startOAuth1Api({ ...consumer, ...token, signatureMethod: 'HMAC-SHA1' });
    const manager = testManager({
      integrations: {
        twitter: {
          provider: 'twitter-v1',
          clientId: consumer.consumerKey,
          clientSecret: consumer.consumerSecret,
          definition: { authMode: 'OAUTH1' },
        },
      },
    });
    return {
      manager,
      input: {
        connectionId: 'suite',
        providerConfigKey: 'twitter',
        credentials: {
          type: 'OAUTH1',
          oauth_token: token.token,
          oauth_token_secret: token.tokenSecret,
          raw: { screen_name: 'latchkey' },
        },
      },
      async verify(connection) {
        expect(connection.credentials).toEqual({
          type: 'OAUTH1',
          oauth_token: token.token,
          oauth_token_secret: token.tokenSecret,
          raw: { screen_name: 'latchkey' },
        });
        const headers = await manager.signRequest('suite', { method: 'GET', url: `${api.url}/me` });
        expect((await fetch(`${api.url}/me`, { headers })).status).toBe(200);
      },
      async close() {
        await manager.close();
        await api.close();
      },
    };
  },
  [
    ['a missing token secret', { type: 'OAUTH1', oauth_token: 't' }, 'credentials.oauth_token_secret'],
    ['a numeric token', { type: 'OAUTH1', oauth_token: 5, oauth_token_secret: 's' }, 'credentials.oauth_token'],
    [
      'an unknown field',
      { type: 'OAUTH1', oauth_token: 't', oauth_token_secret: 's', verifier: 'v' },
      'credentials.verifier',
    ],
  ],
);

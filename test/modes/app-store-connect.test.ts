import { jwtVerify } from 'jose';
import { expect, it } from 'vitest';
import type { Clock } from '../../src/index.js';
import { type PublicKey, pemKeyPair } from '../support/keys.js';
import { testManager } from '../support/manager.js';
import { strategySuite } from './strategy-suite.js';

const config = { privateKeyId: '2X9R4HXF34', issuerId: '57246542-96fe-1a63-e053-0824d011072a' };

function appStoreManager(clock?: Clock) {
  return testManager({
    integrations: { asc: { provider: 'app-store-connect', definition: { authMode: 'APP_STORE' } } },
    clock,
  });
}

/** What App Store Connect checks (Apple: "Generating tokens for API requests"). */
async function verifyLikeApple(token: string, publicKey: PublicKey, now: number) {
  const { payload, protectedHeader } = await jwtVerify(token, publicKey, {
    algorithms: ['ES256'],
    issuer: config.issuerId,
    audience: 'appstoreconnect-v1',
    currentDate: new Date(now),
  });
  expect(protectedHeader).toEqual({ alg: 'ES256', kid: config.privateKeyId, typ: 'JWT' });
  expect((payload.exp as number) - (payload.iat as number)).toBeLessThanOrEqual(20 * 60);
}

strategySuite(
  'APP_STORE',
  async () => {
    const keys = await pemKeyPair('ES256');
    const manager = appStoreManager();
    return {
      manager,
      input: {
        connectionId: 'suite',
        providerConfigKey: 'asc',
        credentials: { type: 'APP_STORE', private_key: keys.privateKey },
        connectionConfig: config,
      },
      async verify(connection) {
        await verifyLikeApple(
          (connection.credentials as { access_token: string }).access_token,
          keys.publicKey,
          Date.now(),
        );
      },
      close: () => manager.close(),
    };
  },
  [
    ['a missing private key', { type: 'APP_STORE' }, 'credentials.private_key'],
    ['an RSA key (Apple keys are P-256)', { type: 'APP_STORE', private_key: 'RSA' }, 'credentials.private_key'],
  ],
);

it('APP_STORE re-signs before the token lapses, and refuses a connection without the key and issuer ids', async () => {
  const keys = await pemKeyPair('ES256');
  const rsa = await pemKeyPair('RS256');
  let now = Date.parse('2026-11-23T12:00:00.000Z');
  const manager = appStoreManager(() => now);
  await expect(
    manager.create({
      connectionId: 'x',
      providerConfigKey: 'asc',
      credentials: { type: 'APP_STORE', private_key: rsa.privateKey },
      connectionConfig: config,
    }),
  ).rejects.toMatchObject({ field: 'credentials.private_key' });
  await expect(
    manager.create({
      connectionId: 'x',
      providerConfigKey: 'asc',
      credentials: { type: 'APP_STORE', private_key: keys.privateKey },
    }),
  ).rejects.toMatchObject({
    field: 'connectionConfig.privateKeyId',
  });
  await manager.create({
    connectionId: 'app',
    providerConfigKey: 'asc',
    credentials: { type: 'APP_STORE', private_key: keys.privateKey },
    connectionConfig: config,
  });
  const first = (await manager.get('app')).credentials as { access_token: string };
  now += 10 * 60_000;
  expect(((await manager.get('app')).credentials as { access_token: string }).access_token).toBe(first.access_token);
  now += 5 * 60_000;
  const second = (await manager.get('app')).credentials as { access_token: string };
  expect(second.access_token).not.toBe(first.access_token);
  await verifyLikeApple(second.access_token, keys.publicKey, now);
  await manager.close();
});

import { decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import type { JwtTemplate } from '../../src/index.js';
import { countingWrites, pemKeyPair } from '../support/keys.js';
import { testManager } from '../support/manager.js';
import { strategySuite } from './strategy-suite.js';

const tokenOf = (connection: { credentials: unknown }) => (connection.credentials as { token: string }).token;

function jwtManager(template: JwtTemplate, clock: () => number, store = memoryStore()) {
  return testManager({
    store,
    integrations: { signer: { provider: 'jwt-provider', definition: { authMode: 'JWT', jwt: template } } },
    clock,
  });
}

// Snowflake key-pair auth: iss = ACCOUNT.USER.SHA256:<fingerprint>, sub = ACCOUNT.USER, RS256, 1 hour.
const snowflake: JwtTemplate = {
  algorithm: 'RS256',
  payload: {
    iss: '${connectionConfig.account}.${connectionConfig.user}.${credentials.privateKeyId}',
    sub: '${connectionConfig.account}.${connectionConfig.user}',
  },
  lifetimeSeconds: 3600,
};

describe('JWT', () => {
  it('signs RS256 from the template, verified with the public key', async () => {
    const keys = await pemKeyPair('RS256');
    const now = Date.now();
    const manager = jwtManager(snowflake, () => now);
    await manager.create({
      connectionId: 'warehouse',
      providerConfigKey: 'signer',
      credentials: { type: 'JWT', privateKey: keys.privateKey, privateKeyId: 'SHA256:abc=' },
      connectionConfig: { account: 'MYORG-ACCT', user: 'LOADER' },
    });
    const token = tokenOf(await manager.get('warehouse'));
    const { payload, protectedHeader } = await jwtVerify(token, keys.publicKey, {
      algorithms: ['RS256'],
      currentDate: new Date(now),
    });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    expect(payload).toMatchObject({
      iss: 'MYORG-ACCT.LOADER.SHA256:abc=',
      sub: 'MYORG-ACCT.LOADER',
      iat: Math.floor(now / 1000),
    });
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
    await manager.close();
  });

  it('signs ES256 when the key is a P-256 key', async () => {
    const keys = await pemKeyPair('ES256');
    const manager = jwtManager(
      { payload: { iss: '${credentials.issuerId}', aud: 'api' }, lifetimeSeconds: 600 },
      Date.now,
    );
    await manager.create({
      connectionId: 'ec',
      providerConfigKey: 'signer',
      credentials: { type: 'JWT', privateKey: keys.privateKey, issuerId: 'issuer-1' },
    });
    const token = tokenOf(await manager.get('ec'));
    const { payload } = await jwtVerify(token, keys.publicKey, {
      algorithms: ['ES256'],
      issuer: 'issuer-1',
      audience: 'api',
    });
    expect(payload.iss).toBe('issuer-1');
    await manager.close();
  });

  it('signs Ghost Admin API tokens: HS256 with the hex secret, kid = key id, aud /admin/, 5 minutes', async () => {
    const secret = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const ghost: JwtTemplate = { payload: { aud: '/admin/' }, lifetimeSeconds: 300 };
    const manager = jwtManager(ghost, Date.now);
    await manager.create({
      connectionId: 'blog',
      providerConfigKey: 'signer',
      credentials: { type: 'JWT', privateKey: { id: '6489a1b2c3', secret } },
    });
    const token = tokenOf(await manager.get('blog'));
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', kid: '6489a1b2c3', typ: 'JWT' });
    const { payload } = await jwtVerify(token, Buffer.from(secret, 'hex'), { audience: '/admin/' });
    expect((payload.exp as number) - (payload.iat as number)).toBe(300);
    await expect(jwtVerify(token, Buffer.from(secret, 'utf8'))).rejects.toThrow();
    await manager.close();
  });

  it('reuses the signed token until it is within a minute of expiry, then re-signs; concurrent gets sign once', async () => {
    const keys = await pemKeyPair('ES256');
    let now = Date.parse('2026-11-23T12:00:00.000Z');
    const counted = countingWrites(memoryStore());
    const manager = jwtManager({ payload: { aud: 'x' }, lifetimeSeconds: 300 }, () => now, counted.store);
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'signer',
      credentials: { type: 'JWT', privateKey: keys.privateKey },
    });
    const writesAfterCreate = counted.writes();

    const results = await Promise.all(Array.from({ length: 10 }, () => manager.get('c')));
    const first = tokenOf(results[0] as { credentials: unknown });
    expect(new Set(results.map(tokenOf))).toEqual(new Set([first]));
    expect(counted.writes() - writesAfterCreate).toBe(1);

    now += 3 * 60_000;
    expect(tokenOf(await manager.get('c'))).toBe(first);
    now += 61_000; // 56 s left: inside the one-minute re-sign margin
    const second = tokenOf(await manager.get('c'));
    expect(second).not.toBe(first);
    const { payload } = await jwtVerify(second, keys.publicKey, { currentDate: new Date(now) });
    expect(payload.iat).toBe(Math.floor(now / 1000));
    await manager.close();
  });

  it('names the missing template value', async () => {
    const keys = await pemKeyPair('RS256');
    const manager = jwtManager(snowflake, Date.now);
    await manager.create({
      connectionId: 'c',
      providerConfigKey: 'signer',
      credentials: { type: 'JWT', privateKey: keys.privateKey },
    });
    await expect(manager.get('c')).rejects.toMatchObject({
      code: 'missing_template_value',
      path: 'connectionConfig.account',
    });
    await manager.close();
  });
});

strategySuite(
  'JWT',
  async () => {
    const keys = await pemKeyPair('RS256');
    const manager = jwtManager({ payload: { iss: 'suite' }, lifetimeSeconds: 600 }, Date.now);
    return {
      manager,
      input: {
        connectionId: 'suite',
        providerConfigKey: 'signer',
        credentials: { type: 'JWT', privateKey: keys.privateKey },
      },
      async verify(connection) {
        await jwtVerify(tokenOf(connection), keys.publicKey, { issuer: 'suite' });
      },
      close: () => manager.close(),
    };
  },
  [
    ['a missing private key', { type: 'JWT', issuerId: 'i' }, 'credentials.privateKey'],
    [
      'a PEM that does not parse',
      { type: 'JWT', privateKey: '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----' },
      'credentials.privateKey',
    ],
    [
      'a secret that is not hex',
      { type: 'JWT', privateKey: { id: 'k', secret: 'zz-not-hex' } },
      'credentials.privateKey',
    ],
    ['a key object without a secret', { type: 'JWT', privateKey: { id: 'k' } }, 'credentials.privateKey'],
  ],
);

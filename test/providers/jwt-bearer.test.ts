import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getProviders } from '@nangohq/providers';
import { jwtVerify } from 'jose';
import { afterEach, expect, it } from 'vitest';
import { fromNangoProviders, type ProviderDefinition } from '../../src/index.js';
import { pemKeyPair, type PublicKey } from '../support/keys.js';
import { testManager } from '../support/manager.js';
import { answer } from '../support/answer.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** Google's token endpoint for service accounts (RFC 7523): verifies the signed assertion it is given. */
async function startGoogleTokenEndpoint(publicKey: PublicKey) {
  const seen: Array<Record<string, unknown>> = [];
  const server = createServer(
    answer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const send = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
        return send(400, { error: 'unsupported_grant_type' });
      try {
        const { payload } = await jwtVerify(form.get('assertion') ?? '', publicKey, {
          audience: 'https://oauth2.googleapis.com/token',
          algorithms: ['RS256'],
        });
        seen.push(payload);
        send(200, { access_token: 'ya29.service-token', expires_in: 3599, token_type: 'Bearer' });
      } catch {
        send(400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
      }
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, seen };
}

it("Nango's google-service-account entry: a signed JWT assertion traded for an access token", async () => {
  const keys = await pemKeyPair('RS256');
  const google = await startGoogleTokenEndpoint(keys.publicKey);
  const imported = fromNangoProviders(getProviders() as Record<string, unknown>).providers[
    'google-service-account'
  ] as ProviderDefinition;
  const twoStep = imported.twoStep as NonNullable<ProviderDefinition['twoStep']>;
  const manager = testManager({
    integrations: {
      gsa: {
        provider: 'google-service-account',
        definition: {
          ...imported,
          twoStep: { ...twoStep, tokenRequest: { ...twoStep.tokenRequest, url: google.url } },
        },
      },
    },
  });
  await manager.create({
    connectionId: 'sa',
    providerConfigKey: 'gsa',
    credentials: {
      type: 'TWO_STEP',
      serviceAccountEmailAddress: 'sync@project.iam.gserviceaccount.com',
      scopes: 'https://www.googleapis.com/auth/drive.readonly',
      delegatedAccessEmailAddress: 'admin@acme.test',
      // As in a downloaded JSON key file: newlines escaped.
      privateKey: keys.privateKey.replace(/\n/g, '\\n'),
    },
  });
  const connection = await manager.get('sa');
  expect(connection.credentials).toMatchObject({ type: 'TWO_STEP', token: 'ya29.service-token' });
  expect(JSON.stringify(connection)).not.toContain('PRIVATE KEY');
  expect(google.seen[0]).toMatchObject({
    iss: 'sync@project.iam.gserviceaccount.com',
    scope: 'https://www.googleapis.com/auth/drive.readonly',
    sub: 'admin@acme.test',
  });
  expect((google.seen[0]?.exp as number) - (google.seen[0]?.iat as number)).toBe(3600);
});

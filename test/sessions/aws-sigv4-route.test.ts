/**
 * `POST /auth/aws-sigv4/:key` with a connect session, as `@nangohq/frontend` posts it
 * (`auth(key, { credentials: { type: 'AWS_SIGV4', role_arn, region } })`, run here in Node: its
 * credential path is a plain `fetch`). The role is assumed at the STS stand-in before anything is
 * stored; the session decides the connection id, end user and which integrations.
 */
import { randomBytes } from 'node:crypto';
import Nango from '@nangohq/frontend';
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { createApiHandler } from '../../src/http.js';
import { serveOnLoopback } from '../support/api-server.js';
import { testClock, testManager } from '../support/manager.js';
import { nangoEntry } from '../support/nango.js';
import { testScope } from '../support/scope.js';
import { LONG_LIVED, startAws } from '../support/sts-server.js';
import { API_KEY, createSession } from './support.js';

const { defer } = testScope();
const ROLE = 'arn:aws:iam::123456789012:role/LatchkeyAccess';

async function setUp() {
  const clock = testClock();
  const aws = await startAws({ now: clock });
  defer(() => aws.close());
  const store = memoryStore();
  const manager = testManager({
    store,
    clock,
    encryptionKey: randomBytes(32).toString('base64'),
    providers: { 'aws-sigv4': nangoEntry('aws-sigv4') },
    integrations: {
      aws: {
        provider: 'aws-sigv4',
        aws: {
          service: 's3',
          defaultRegion: 'eu-west-1',
          accessKeyId: LONG_LIVED.accessKeyId,
          secretAccessKey: LONG_LIVED.secretAccessKey,
          stsEndpointUrl: `${aws.url}/`,
        },
        definition: { proxy: { baseUrl: `${aws.url}/api/s3` } },
      },
    },
  });
  const server = await serveOnLoopback(createApiHandler({ manager, apiKeys: [{ key: API_KEY }] }));
  defer(() => server.close());
  const sdk = (token: string) => new Nango({ host: server.url, connectSessionToken: token });
  return { aws, manager, server, sdk };
}

describe('POST /auth/aws-sigv4/:providerConfigKey', () => {
  it("the frontend SDK's AWS_SIGV4 credentials assume the role, then the connection is stored for the session", async () => {
    const { aws, manager, server, sdk } = await setUp();
    const token = await createSession(server.url, {
      end_user: { id: 'user-aws' },
      // The external id the app's onboarding template put in the customer's trust policy.
      integrations_config_defaults: { aws: { connection_config: { external_id: 'ext-7f3a2c' } } },
    });
    const result = (await sdk(token).auth('aws', {
      credentials: { type: 'AWS_SIGV4', role_arn: ROLE, region: 'us-west-2' },
    })) as { connectionId: string; providerConfigKey: string };
    expect(result.providerConfigKey).toBe('aws');
    const connection = await manager.get(result.connectionId, { providerConfigKey: 'aws' });
    expect(connection.end_user?.id).toBe('user-aws');
    expect(connection.credentials).toMatchObject({ type: 'AWS_SIGV4', role_arn: ROLE, region: 'us-west-2' });
    expect(connection.connection_config).toMatchObject({
      region: 'us-west-2',
      service: 's3',
      external_id: 'ext-7f3a2c',
    });
    expect(aws.assumeCalls[0]).toMatchObject({ roleArn: ROLE, externalId: 'ext-7f3a2c', region: 'us-west-2' });
    expect((await manager.fetch(result.connectionId, '/bucket/key', {})).status).toBe(200);
  });

  it('a role the app may not assume, a malformed ARN or an unknown field: an SDK AuthError, nothing stored', async () => {
    const { manager, server, sdk } = await setUp();
    const token = await createSession(server.url, { end_user: { id: 'user-aws' } });
    const denied = await sdk(token)
      .auth('aws', { credentials: { type: 'AWS_SIGV4', role_arn: ROLE } })
      .catch((e: unknown) => e);
    // No external id: the stand-in's role requires one, as a trust policy does.
    expect(denied).toMatchObject({ type: 'authorization_failed' });
    const malformed = await sdk(token)
      .auth('aws', { credentials: { type: 'AWS_SIGV4', role_arn: 'arn:aws:iam::1:user/x' } })
      .catch((e: unknown) => e);
    expect(malformed).toMatchObject({ type: 'invalid_credentials' });
    const unknownField = await fetch(`${server.url}/auth/aws-sigv4/aws?connect_session_token=${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ role_arn: ROLE, secret: 'x' }),
    });
    expect(unknownField.status).toBe(400);
    expect((await manager.list()).connections).toEqual([]);
  });
});

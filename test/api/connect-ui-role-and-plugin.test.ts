/**
 * The Connect UI's forms for Nango's `aws-sigv4` and `crisp-plugin-install` entries, as
 * `GET /connect/session/integrations` answers them: the role ARN posted to the route the frontend
 * SDK uses, and the plugin install opened in the popup like an OAuth flow.
 */
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { createApiHandler } from '../../src/http.js';
import { testManager } from '../support/manager.js';
import { nangoEntry } from '../support/nango.js';

describe('GET /connect/session/integrations: AWS_SIGV4 and INSTALL_PLUGIN', () => {
  it('asks for the role ARN on a form posted to auth/aws-sigv4, and opens the plugin install in the popup', async () => {
    const manager = testManager({
      store: memoryStore(),
      providers: { 'aws-sigv4': nangoEntry('aws-sigv4'), 'crisp-plugin-install': nangoEntry('crisp-plugin-install') },
      integrations: {
        aws: {
          provider: 'aws-sigv4',
          aws: {
            service: 's3',
            defaultRegion: 'eu-west-1',
            accessKeyId: 'AKIDEXAMPLE',
            secretAccessKey: 'aws-secret-never-sent',
          },
        },
        crisp: {
          provider: 'crisp-plugin-install',
          clientId: 'urn:acme:plugin:1',
          clientSecret: 'plugin-key-never-sent',
          appLink: 'https://marketplace.crisp.chat/plugins/acme/',
        },
      },
    });
    const api = createApiHandler({ manager, apiKeys: [{ key: 'connect-ui-route-key-0123' }] });
    const { token } = await manager.connectSessions.create({ end_user: { id: 'u1' } });
    const response = await api(
      new Request('http://127.0.0.1/connect/session/integrations', { headers: { authorization: `Bearer ${token}` } }),
    );
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(text).not.toMatch(/aws-secret-never-sent|plugin-key-never-sent/);
    const { data } = JSON.parse(text) as { data: Array<{ unique_key: string; form: unknown }> };
    const byKey = Object.fromEntries(data.map((one) => [one.unique_key, one]));
    expect(byKey.aws?.form).toMatchObject({
      kind: 'form',
      route: 'auth/aws-sigv4',
      credentials: [{ name: 'role_arn', optional: false }],
      connection_config: expect.arrayContaining([{ name: 'region', input: 'text', optional: true }]),
    });
    // The marketplace brings the website id back to the callback: the user types nothing.
    expect(byKey.crisp?.form).toEqual({
      kind: 'popup',
      route: 'oauth/connect',
      body_type: null,
      credentials: [],
      connection_config: [],
    });
  });
});

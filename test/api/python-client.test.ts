/** A non-JS client: examples/python-client.py (Python's standard library only) reads a fresh token from the API. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalAuthorizationServer,
  startAuthorizationServer,
  authorizationServerManager,
} from '../support/authorization-server.js';
import { createApiHandler } from '../../src/http.js';
import { serveOnLoopback } from '../support/api-server.js';

const script = fileURLToPath(new URL('../../examples/python-client.py', import.meta.url));
const SECRET = 'python-client-secret-key-1';
let server: LocalAuthorizationServer;
beforeAll(async () => {
  server = await startAuthorizationServer();
});
afterAll(async () => {
  await server.close();
});

function runPython(url: string, args: string[]) {
  return promisify(execFile)('python3', [script, ...args], {
    env: { PATH: process.env.PATH, LATCHKEY_URL: url, LATCHKEY_API_KEY: SECRET },
    timeout: 20_000,
  });
}

describe('examples/python-client.py', () => {
  it('reads a token the server refreshed first, and reports errors by code', async () => {
    const manager = authorizationServerManager(server, 'client_secret_post');
    const { refreshToken } = await server.issueRefreshToken(server.postClient.clientId);
    await manager.create({
      connectionId: 'py user/1',
      providerConfigKey: 'local',
      credentials: {
        type: 'OAUTH2',
        access_token: 'stale-access',
        refresh_token: refreshToken,
        expires_at: new Date(Date.now() - 60_000).toISOString(),
      },
    });
    const api = await serveOnLoopback(createApiHandler({ manager, apiKeys: [{ key: SECRET }] }));
    try {
      const before = server.tokenRequests();
      const { stdout } = await runPython(api.url, ['local', 'py user/1']);
      const read = JSON.parse(stdout) as { access_token: string; expires_at: string };
      expect(read.access_token).not.toBe('stale-access');
      expect(Date.parse(read.expires_at)).toBeGreaterThan(Date.now());
      expect(server.tokenRequests() - before).toBe(1);
      const stored = await manager.get('py user/1', { providerConfigKey: 'local' });
      expect((stored.credentials as { access_token: string }).access_token).toBe(read.access_token);

      const failure = await runPython(api.url, ['local', 'nobody']).catch(
        (error: { code: number; stderr: string }) => error,
      );
      expect(failure).toMatchObject({ code: 1, stderr: expect.stringContaining('404 unknown_connection') });
    } finally {
      await api.close();
    }
  });
});

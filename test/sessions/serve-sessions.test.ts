/**
 * `latchkey serve` with `publicUrl` and `allowedOrigins` in a JSON configuration: the connect
 * WebSocket on the server's own port (ack for an allowed origin and the server's own host, 403
 * for another), session-token OAuth without a `connect` block, and the public-key flow refused
 * when nothing says who the user is.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '../../src/cli/commands/serve.js';
import { loadConfig } from '../../src/cli/config.js';
import { jsonLogger } from '../../src/cli/log.js';
import { API_KEY, createSession, openSdkSocket } from './support.js';

const APP = 'https://app.example';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve() {
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-serve-sessions-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'latchkey.config.json');
  await writeFile(
    path,
    JSON.stringify({
      store: 'memory',
      requireEncryption: false,
      apiKeys: [{ key: API_KEY }],
      publicUrl: 'https://latchkey.example',
      allowedOrigins: [APP],
      integrations: {
        idp: {
          provider: 'local-idp',
          clientId: 'client-1',
          clientSecret: 'secret-1',
          definition: {
            authMode: 'OAUTH2',
            authorizationUrl: 'https://idp.example/auth',
            tokenUrl: 'https://idp.example/token',
          },
        },
      },
      server: { port: 0 },
    }),
  );
  const running = await startServer(
    await loadConfig(path, {}),
    jsonLogger(() => {}),
  );
  cleanups.push(() => running.stop());
  return running;
}

describe('latchkey serve with publicUrl and allowedOrigins', () => {
  it('serves the connect WebSocket to allowed origins and its own host only', async () => {
    const running = await serve();
    const allowed = await openSdkSocket(running.url, APP);
    expect(allowed.clientId).toMatch(/^[0-9a-f-]{36}$/);
    const own = await openSdkSocket(running.url, running.url);
    expect(own.clientId).toMatch(/^[0-9a-f-]{36}$/);
    await expect(openSdkSocket(running.url, 'https://evil.example')).rejects.toThrow('refused');
    allowed.close();
    own.close();
  });

  it('starts a session flow to the provider with the callback under publicUrl; refuses the keyless public-key flow', async () => {
    const running = await serve();
    const token = await createSession(running.url, { end_user: { id: 'user-1' } });
    const socket = await openSdkSocket(running.url, APP);
    const connect = await fetch(
      `${running.url}/oauth/connect/idp?connect_session_token=${token}&ws_client_id=${socket.clientId}`,
      { redirect: 'manual' },
    );
    expect(connect.status).toBe(302);
    const location = new URL(connect.headers.get('location')!);
    expect(location.origin).toBe('https://idp.example');
    expect(location.searchParams.get('redirect_uri')).toBe('https://latchkey.example/oauth/callback');
    const publicKey = await fetch(`${running.url}/oauth/connect/idp?connection_id=mine&public_key=pk`, {
      redirect: 'manual',
    });
    expect(publicKey.status).toBe(403);
    expect((await running.manager.list({})).connections).toEqual([]);
    socket.close();
  });
});

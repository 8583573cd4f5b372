/**
 * Issue 11, item 4: a provider that echoes the request puts the client secret into its error in
 * the encodings the request used — form-encoded in the body, base64 of `id:secret` in a Basic
 * header. None of them may reach an error, a log line or the end user's browser, which gets a
 * fixed description and a `log_id` only.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConnectionManager } from '../../src/index.js';
import { createConnectHandler } from '../../src/http.js';
import { captureLogs } from '../support/logs.js';
import { testScope } from '../support/scope.js';

const scope = testScope();
const CLIENT_ID = 'client/id+1';
const CLIENT_SECRET = 's3cr+t/=x y!Zq~(7)';
const CALLBACK = 'http://127.0.0.1:1/oauth/callback';

/** Answers every token request with 400, echoing the raw body and headers as the error description. */
async function startEchoingTokenEndpoint() {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const echo = `ECHO ${request.headers.authorization ?? ''} ${body}`;
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: 'invalid_client', error_description: echo }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  scope.defer(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Every way the secret can appear in a request, computed here independently of the library. */
function secretForms(): string[] {
  const oauthEncode = (value: string) =>
    encodeURIComponent(value)
      .replace(/[!'()*~._-]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
      .replace(/%20/g, '+');
  const formEncode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
  const encodings = [encodeURIComponent, formEncode, oauthEncode];
  const basic = [`${CLIENT_ID}:${CLIENT_SECRET}`, ...encodings.map((e) => `${e(CLIENT_ID)}:${e(CLIENT_SECRET)}`)];
  return [
    CLIENT_SECRET,
    ...encodings.map((e) => e(CLIENT_SECRET)),
    ...encodings.map((e) => e(CLIENT_SECRET).toLowerCase()),
    ...basic.map((pair) => Buffer.from(pair).toString('base64')),
    ...basic.map((pair) => Buffer.from(pair).toString('base64url')),
  ];
}

function expectNoSecret(text: string, where: string) {
  for (const form of secretForms()) expect(text.includes(form), `${where} contains ${form}`).toBe(false);
}

function managerFor(tokenUrl: string, authMethod: 'client_secret_post' | 'client_secret_basic') {
  const logs = captureLogs();
  const manager = new ConnectionManager({
    integrations: {
      echo: {
        provider: 'echo',
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        definition: {
          authMode: 'OAUTH2',
          authorizationUrl: `${tokenUrl}/authorize`,
          tokenUrl: `${tokenUrl}/token`,
          tokenRequestAuthMethod: authMethod,
        },
      },
    },
    http: { allowInsecureLoopback: true },
    logger: logs.logger,
  });
  scope.defer(() => manager.close());
  return { manager, logs };
}

describe('an echoing provider cannot leak the client secret through an error', () => {
  for (const authMethod of ['client_secret_post', 'client_secret_basic'] as const) {
    it(`${authMethod}: no encoding of the secret in the error's message, JSON or inspection`, async () => {
      const { manager } = managerFor(await startEchoingTokenEndpoint(), authMethod);
      const { state } = await manager.authorize({
        providerConfigKey: 'echo',
        connectionId: 'c',
        redirectUri: CALLBACK,
      });
      let failure: unknown;
      try {
        await manager.handleCallback({ state, code: 'a-code' });
      } catch (error) {
        failure = error;
      }
      expect(failure).toMatchObject({ code: 'authorization_failed' });
      // The provider's text did arrive (so the check below is not vacuous)…
      expect((failure as Error).message).toContain('ECHO');
      // …without the secret in any form. Before: form-encoded (post) or base64 `id:secret` (basic) survived.
      expectNoSecret((failure as Error).message, 'message');
      expectNoSecret(JSON.stringify(failure), 'JSON');
      expectNoSecret(inspect(failure, { depth: 5 }), 'inspect');
    });
  }

  it('the connect handler sends the browser a fixed description and a log_id, never provider text', async () => {
    const { manager } = managerFor(await startEchoingTokenEndpoint(), 'client_secret_post');
    const logs = captureLogs();
    const handler = createConnectHandler({
      manager,
      callbackUrl: CALLBACK,
      allowedRedirectUrls: ['http://127.0.0.1:1/done'],
      authorizeConnection: () => 'alice',
      logger: logs.logger,
    });
    const start = await handler(
      new Request(
        `http://127.0.0.1:1/oauth/connect/echo?connection_id=alice&api_redirect_url=${encodeURIComponent('http://127.0.0.1:1/done')}`,
      ),
    );
    const state = new URL(start.headers.get('location') as string).searchParams.get('state') as string;
    // The same browser comes back, with the cookie the handler set.
    const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const finish = await handler(new Request(`${CALLBACK}?state=${state}&code=a-code`, { headers: { cookie } }));
    const back = new URL(finish.headers.get('location') as string);
    expect(back.searchParams.get('message_type')).toBe('error');
    // Before: error_desc carried the provider's description, echo and all.
    expect(back.href).not.toContain('ECHO');
    expectNoSecret(decodeURIComponent(back.href), 'redirect');
    expect(back.searchParams.get('error_desc')).toBe('The provider did not issue a token.');
    const logId = back.searchParams.get('log_id');
    expect(logId).toMatch(/^[0-9a-f-]{36}$/);
    // The details are in the app's log, under that id, still without the secret.
    const logged = logs.lines.join('\n');
    expect(logged).toContain(logId as string);
    expectNoSecret(logged, 'log');
  });
});

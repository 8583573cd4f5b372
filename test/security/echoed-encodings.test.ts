/**
 * A provider that echoes the refresh request back in an encoding other than the request's own —
 * PHP-style JSON (`\/` and `\u00e9` escapes), base64 or base64url of the whole request, a
 * URL-encoded JSON dump — used to put the client secret and the refresh token into the thrown
 * error's message and into `latchkey refresh` output. The secret must appear in none of those
 * encodings in the error (message, `toJSON()`, inspection), the logs, the events or the command's
 * output.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { refreshCommand } from '../../src/cli/commands/refresh.js';
import { captureLogs } from '../support/logs.js';
import { capturedIo } from '../support/captured-io.js';
import { testManager } from '../support/manager.js';
import { answer } from '../support/answer.js';

const CLIENT_ID = 'echo-client';
const CLIENT_SECRET = 'cl/ent+S3cret=é~x(7)';
const REFRESH_TOKEN = 'refresh/Token+9=zé';

/** PHP's json_encode: `/` as `\/`, non-ASCII as `\uXXXX`. */
function phpJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/\//g, '\\/')
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Every way each endpoint echoes what it was sent: the raw request and its decoded parameters. */
const ECHOES = {
  php: (request, params) => phpJson({ request, params }),
  base64: (request, params) => Buffer.from(`${request}\n${JSON.stringify(params)}`).toString('base64'),
  base64url: (request, params) => Buffer.from(`${request}\n${JSON.stringify(params)}`).toString('base64url'),
  urlencoded: (request, params) => encodeURIComponent(JSON.stringify({ request, params })),
  'prefixed-base64': (request, params) =>
    `dump:x${Buffer.from(`${request}${JSON.stringify(params)}`).toString('base64')}`,
} satisfies Record<string, (request: string, params: Record<string, string>) => string>;

let server: ReturnType<typeof createServer>;
let base: string;
beforeAll(async () => {
  server = createServer(
    answer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks).toString('utf8');
      const request = `${req.method} ${req.url} ${JSON.stringify(req.headers)} ${body}`;
      const params = Object.fromEntries(new URLSearchParams(body));
      const name = (req.url ?? '').split('/')[1] ?? '';
      const echo = Object.hasOwn(ECHOES, name) ? ECHOES[name as keyof typeof ECHOES] : ECHOES.php;
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'invalid_request', error_description: `ECHO ${echo(request, params)}` }));
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Each secret in every encoding a test can name: plain, JSON- and PHP-escaped, URL-encoded, base64(url). */
function forms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  const form = new URLSearchParams({ v: secret }).toString().slice(2);
  return [
    secret,
    json,
    phpJson(secret).slice(1, -1),
    json.replace(/\//g, '\\/'),
    encodeURIComponent(secret),
    form,
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('base64url'),
    Buffer.from(`${CLIENT_ID}:${secret}`).toString('base64'),
  ];
}

/**
 * Independently of the library: every run of base64-ish text, decoded at each alignment, and
 * every percent- or JSON-escaped run, unescaped, must not hold a secret either.
 */
function decodedRuns(text: string): string[] {
  const out: string[] = [];
  for (const run of text.match(/[A-Za-z0-9+/=_%\\-]{8,}/g) ?? []) {
    const bare = run
      .replace(/[^A-Za-z0-9+/_-]/g, '')
      .replace(/-/g, '+')
      .replace(/_/g, '/');
    for (let skip = 0; skip < 4; skip++) out.push(Buffer.from(bare.slice(skip), 'base64').toString('utf8'));
    try {
      out.push(decodeURIComponent(run));
    } catch {
      // not percent-encoded
    }
    try {
      out.push(JSON.parse(`"${run.replace(/"/g, '\\"')}"`) as string);
    } catch {
      // not JSON-escaped
    }
  }
  return out;
}

function expectNoSecret(text: string, where: string) {
  const haystacks = [text, ...decodedRuns(text)];
  for (const secret of [CLIENT_SECRET, REFRESH_TOKEN]) {
    for (const form of forms(secret)) {
      for (const haystack of haystacks) {
        expect(haystack.toLowerCase().includes(form.toLowerCase()), `${where} holds ${form}`).toBe(false);
      }
    }
  }
}

describe('a provider echoing the refresh request in another encoding', () => {
  for (const encoding of Object.keys(ECHOES)) {
    for (const authMethod of ['client_secret_post', 'client_secret_basic'] as const) {
      it(`${encoding}, ${authMethod}: no secret in the error, its JSON, the logs, the events or \`latchkey refresh\``, async () => {
        const logs = captureLogs();
        const manager = testManager({
          store: memoryStore(),
          logger: logs.logger,
          integrations: {
            echo: {
              provider: 'echo',
              clientId: CLIENT_ID,
              clientSecret: CLIENT_SECRET,
              definition: {
                authMode: 'OAUTH2',
                tokenUrl: `${base}/${encoding}/token`,
                tokenRequestAuthMethod: authMethod,
              },
            },
          },
        });
        const events: unknown[] = [];
        manager.on('refresh.failed', (event) => events.push(event));
        await manager.create({
          connectionId: 'c',
          providerConfigKey: 'echo',
          credentials: {
            type: 'OAUTH2',
            access_token: 'a',
            refresh_token: REFRESH_TOKEN,
            expires_at: '2999-01-01T00:00:00Z',
          },
        });
        const failure = await manager.get('c', { forceRefresh: true }).catch((error: unknown) => error);
        expect(failure).toMatchObject({ code: 'provider_error', error: 'invalid_request' });
        // The provider's text did arrive (so the checks below are not vacuous).
        expect((failure as Error).message).toContain('ECHO');
        expectNoSecret((failure as Error).message, 'message');
        expectNoSecret(JSON.stringify(failure), 'toJSON');
        expectNoSecret(inspect(failure, { depth: 5 }), 'inspect');
        expect(events).toHaveLength(1);
        expectNoSecret(JSON.stringify(events), 'events');

        const { io, stdout, stderr } = capturedIo();
        expect(await refreshCommand(manager, 'c', {}, io)).toBe(1);
        expect(stderr()).toContain('provider_error');
        expectNoSecret(stdout() + stderr(), '`latchkey refresh`');
        expectNoSecret(logs.lines.join('\n'), 'logs');
      });
    }
  }
});

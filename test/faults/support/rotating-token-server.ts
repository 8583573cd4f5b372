import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A token endpoint that rotates refresh tokens as RFC 9700 §4.14.2 describes: each refresh token
 * works once, and presenting a spent one revokes the whole family (every later request gets
 * `invalid_grant`). `beforeAnswer` runs after the provider has spent the presented token and
 * before it answers — the place to inject a fault "between the answer and the write".
 */
export interface RotatingTokenServer {
  url: string;
  clientId: string;
  clientSecret: string;
  /** Refresh tokens presented, in order. */
  presented: string[];
  /** Whether a spent refresh token was presented, revoking the family. */
  readonly revoked: boolean;
  /** The refresh token the provider will accept next. */
  readonly current: string;
  beforeAnswer: () => Promise<void>;
  close(): Promise<void>;
}

export async function startRotatingTokenServer(
  options: { expiresIn?: number; firstRefreshToken?: string } = {},
): Promise<RotatingTokenServer> {
  let current = options.firstRefreshToken ?? 'refresh-0';
  let issued = 0;
  let revoked = false;
  const state: RotatingTokenServer = {
    url: '',
    clientId: 'client-rotating',
    clientSecret: 'secret-rotating',
    presented: [],
    get revoked() {
      return revoked;
    },
    get current() {
      return current;
    },
    beforeAnswer: async () => {},
    close: async () => {
      server.close();
      server.closeAllConnections();
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        const presented = params.get('refresh_token') ?? '';
        state.presented.push(presented);
        const send = (status: number, body: unknown) =>
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        if (params.get('client_id') !== state.clientId || params.get('client_secret') !== state.clientSecret) {
          send(401, { error: 'invalid_client' });
          return;
        }
        if (revoked || presented !== current) {
          revoked = true;
          send(400, { error: 'invalid_grant', error_description: 'refresh token reused: family revoked' });
          return;
        }
        issued += 1;
        current = `refresh-${issued}`;
        await state.beforeAnswer();
        send(200, {
          access_token: `access-${issued}`,
          refresh_token: current,
          token_type: 'Bearer',
          expires_in: options.expiresIn ?? 3600,
        });
      })();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`;
  return state;
}

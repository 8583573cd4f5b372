/**
 * Several `latchkey serve` instances on one PostgreSQL, as behind a load balancer: concurrent reads
 * of an expired connection through both refresh it once (the refresh lock is in the database), and
 * both answer with the same fresh token.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManagerFromConfig, type LatchkeyConfig } from '../../src/cli/config.js';
import { type RunningServer, startServer } from '../../src/cli/commands/serve.js';
import { jsonLogger } from '../../src/cli/log.js';
import { type RunningPostgres, startPostgres } from '../support/postgres.js';
import { startTokenServer, type TokenServer } from '../support/token-server.js';

const API_KEY = 'two-instances-api-key-0123';
let postgres: RunningPostgres;
let tokens: TokenServer;
beforeAll(async () => {
  postgres = await startPostgres();
  tokens = await startTokenServer('client_secret_post');
});
afterAll(async () => {
  await tokens?.close();
  await postgres?.stop();
});

describe('two servers on one PostgreSQL', () => {
  it('refresh an expired connection once between them', async () => {
    const config: LatchkeyConfig = {
      path: '/nowhere/latchkey.config.json',
      store: { type: 'postgres', url: await postgres.createDatabase() },
      manager: {
        integrations: {
          idp: {
            provider: 'local-idp',
            clientId: tokens.clientId,
            clientSecret: tokens.clientSecret,
            definition: { authMode: 'OAUTH2', tokenUrl: `${tokens.url}/token` },
          },
        },
        encryptionKey: randomBytes(32).toString('base64'),
        requireEncryption: true,
        http: { allowInsecureLoopback: true },
      },
      server: {
        host: '127.0.0.1',
        port: 0,
        shutdownTimeoutMs: 5000,
        apiKeys: [{ key: API_KEY }],
        allowNoKeysOnLoopback: false,
      },
    };
    const lines: string[] = [];
    const logger = jsonLogger((line) => lines.push(line));
    const seed = await createManagerFromConfig(config, { logger });
    await seed.create({
      connectionId: 'shared',
      providerConfigKey: 'idp',
      credentials: {
        type: 'OAUTH2',
        access_token: 'stale-access',
        refresh_token: 'refresh-0',
        expires_at: new Date(Date.now() - 60_000).toISOString(),
      },
    });
    await seed.close();
    tokens.reply(() => ({
      delayMs: 200,
      json: { access_token: 'fresh-access', refresh_token: 'refresh-1', token_type: 'Bearer', expires_in: 3600 },
    }));

    const servers: RunningServer[] = [await startServer(config, logger), await startServer(config, logger)];
    try {
      const before = tokens.requests.length;
      const answers = await Promise.all(
        [0, 1, 0, 1, 0, 1].map(async (index) => {
          const response = await fetch(`${servers[index]!.url}/connections/shared?provider_config_key=idp`, {
            headers: { authorization: `Bearer ${API_KEY}` },
          });
          expect(response.status).toBe(200);
          return ((await response.json()) as { credentials: { access_token: string } }).credentials.access_token;
        }),
      );
      expect(new Set(answers)).toEqual(new Set(['fresh-access']));
      expect(tokens.requests.length - before).toBe(1);
      expect(tokens.requests.at(-1)!.refreshToken).toBe('refresh-0');
    } finally {
      for (const server of servers) await server.stop();
    }
    expect(lines.join('')).not.toContain('fresh-access');
  });
});

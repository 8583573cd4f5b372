/**
 * `latchkey serve`: the HTTP API as a standalone server, with health and readiness routes, access
 * logs and a graceful shutdown (SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close
 * the store).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import { createApiHandler } from '../../api/handler.js';
import { createConnectHandler, toNodeListener } from '../../http.js';
import type { ConnectionManager } from '../../manager.js';
import { type LatchkeyConfig, createManagerFromConfig, loadConfig } from '../config.js';
import type { CliLogger } from '../log.js';
import type { CliContext, CommandModule } from '../program.js';

export interface RunningServer {
  url: string;
  server: Server;
  manager: ConnectionManager;
  /** Stops accepting, waits for in-flight requests (up to the shutdown timeout), closes the store. */
  stop(): Promise<void>;
}

/** Starts the server a configuration describes. Used by the command and by tests/embedders. */
export async function startServer(config: LatchkeyConfig, logger: CliLogger): Promise<RunningServer> {
  const manager = await createManagerFromConfig(config, { logger });
  try {
    // Both are stopped by manager.close() on shutdown.
    if (config.backgroundRefresh) manager.startBackgroundRefresh(config.backgroundRefresh);
    if (config.webhooks) manager.startWebhooks(config.webhooks);
  } catch (error) {
    await manager.close();
    throw error;
  }
  let stopping = false;
  let api: (request: Request) => Promise<Response>;
  try {
    api = createApiHandler({
      manager,
      apiKeys: config.server.apiKeys,
      allowNoKeysOnLoopback: config.server.allowNoKeysOnLoopback,
      logger,
      ...(config.server.basePath ? { basePath: config.server.basePath } : {}),
      ...(config.server.maxBodyBytes ? { maxBodyBytes: config.server.maxBodyBytes } : {}),
      ...(config.server.connect
        ? { connect: createConnectHandler({ ...config.server.connect, manager, logger }) }
        : {}),
    });
  } catch (error) {
    await manager.close();
    throw error;
  }
  const handler = async (request: Request): Promise<Response> => {
    const { pathname } = new URL(request.url);
    if (pathname === '/healthz') return health(200, { status: 'ok' });
    if (pathname === '/readyz') {
      if (stopping) return health(503, { status: 'stopping' });
      try {
        // A read that reaches the store: not ready while it cannot answer.
        await manager.list({ connectionId: 'latchkey-readiness-probe' });
        return health(200, { status: 'ready' });
      } catch {
        return health(503, { status: 'store_unavailable' });
      }
    }
    return api(request);
  };
  const listener = toNodeListener(handler);
  const server = createServer((req, res) => {
    const started = performance.now();
    res.on('finish', () => {
      // The path only: query strings are not logged.
      logger.info('request', {
        method: req.method,
        path: (req.url ?? '/').split('?')[0],
        status: res.statusCode,
        ms: Math.round(performance.now() - started),
      });
    });
    listener(req, res);
  });
  server.listen(config.server.port, config.server.host);
  try {
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([error]) => Promise.reject(error as Error)),
    ]);
  } catch (error) {
    await manager.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info('listening', { url, store: config.store.type, api_keys: config.server.apiKeys.length });

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      logger.info('stopping', { timeout_ms: config.server.shutdownTimeoutMs });
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), config.server.shutdownTimeoutMs);
      await closed;
      clearTimeout(timer);
      await manager.close();
      logger.info('stopped', {});
    })());
  return { url, server, manager, stop };
}

function health(status: number, body: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });
}

export const serveCommand: CommandModule = {
  register(program: Command, context: CliContext) {
    program
      .command('serve')
      .description("Serve Nango's connections API (and /healthz, /readyz) from the configured store")
      .requiredOption('-c, --config <file>', 'configuration file (.json, .js or .mjs)', process.env.LATCHKEY_CONFIG)
      .option('-p, --port <port>', 'port to listen on (overrides server.port and LATCHKEY_PORT)')
      .option('-H, --host <host>', 'address to bind (overrides server.host and LATCHKEY_HOST)')
      .addHelpText(
        'after',
        '\nEnvironment: LATCHKEY_CONFIG, LATCHKEY_STORE, LATCHKEY_ENCRYPTION_KEY, LATCHKEY_API_KEYS, LATCHKEY_HOST, LATCHKEY_PORT.\nStops cleanly on SIGTERM or SIGINT (exit code 0). See docs/running-the-server.md.',
      )
      .action(async (options: { config: string; port?: string; host?: string }) => {
        const env = { ...process.env };
        if (options.port !== undefined) env.LATCHKEY_PORT = options.port;
        if (options.host !== undefined) env.LATCHKEY_HOST = options.host;
        const config = await loadConfig(options.config, env);
        const running = await startServer(config, context.logger);
        await new Promise<void>((resolve) => {
          const onSignal = (signal: NodeJS.Signals) => {
            context.logger.info('signal', { signal });
            process.off('SIGTERM', onSignal);
            process.off('SIGINT', onSignal);
            resolve();
          };
          process.on('SIGTERM', onSignal);
          process.on('SIGINT', onSignal);
        });
        await running.stop();
      });
  },
};

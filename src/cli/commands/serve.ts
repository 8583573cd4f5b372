/**
 * `latchkey serve`: the HTTP API as a standalone server, with health and readiness routes, access
 * logs and a graceful shutdown (SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close
 * the store).
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { createApiHandler } from '../../api/handler.js';
import { type ApiRequest, fromRequest, viewEntryOf, withViewEntry } from '../../api/request-view.js';
import { asResponse, type RouteAnswer } from '../../api/respond.js';
import {
  type ConnectHandlerOptions,
  createConnectHandler,
  createConnectWebSocket,
  createConnectUiHandler,
  createConsoleHandler,
  toNodeListener,
} from '../../http.js';
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

/**
 * How long a client may take. Node's defaults let a client that never finishes its headers hold a
 * socket for five minutes (450 stalled sockets were held 300 s); a connections API needs seconds.
 */
export interface ServerTimeouts {
  /** Whole request headers must arrive within this (ms). Default 10 s. */
  headersTimeoutMs: number;
  /** The whole request, body included, within this (ms). Default 30 s. */
  requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this (ms). Default 5 s. */
  keepAliveTimeoutMs: number;
}

export const DEFAULT_SERVER_TIMEOUTS: ServerTimeouts = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
};

/** Tries of the store at start before `serve` gives up (exit 6), and the pause before each retry. */
const STORE_PROBE_DELAYS_MS = [250, 1000, 2000];

/** Options of {@link startServer} beyond the configuration. */
export interface StartServerOptions {
  timeouts?: Partial<ServerTimeouts>;
  /** Pauses between tries of the store at start (default 250 ms, 1 s, 2 s: four tries). */
  storeProbeDelaysMs?: readonly number[];
}

/** Starts the server a configuration describes. Used by the command and by tests/embedders. */
export async function startServer(
  config: LatchkeyConfig,
  logger: CliLogger,
  options: StartServerOptions = {},
): Promise<RunningServer> {
  const timeouts = { ...DEFAULT_SERVER_TIMEOUTS, ...options.timeouts };
  const manager = await createManagerFromConfig(config, { logger });
  try {
    // The docs promise exit 6 when the store cannot be reached at start: a server that starts
    // anyway answers every request 503 and looks healthy to a process supervisor.
    await probeStore(manager, options.storeProbeDelaysMs ?? STORE_PROBE_DELAYS_MS, logger);
    // Both are stopped by manager.close() on shutdown.
    if (config.backgroundRefresh) manager.startBackgroundRefresh(config.backgroundRefresh);
    if (config.webhooks) manager.startWebhooks(config.webhooks);
  } catch (error) {
    await manager.close();
    throw error;
  }
  let stopping = false;
  let api: (request: Request) => Promise<Response>;
  let consolePages: ((request: Request) => Promise<Response>) | undefined;
  const consolePath = config.server.consolePath ?? '/console/';
  let connectUi: ((request: Request) => Promise<Response>) | undefined;
  const uiPath = config.server.connectUiPath ?? '/connect-ui';
  const uiBase = uiPath === false ? undefined : uiPath.replace(/\/+$/, '');
  try {
    // The console needs keys to log in with: a keyless development server has none to offer.
    if (consolePath !== false && config.server.apiKeys.length > 0) {
      consolePages = createConsoleHandler({ manager, apiKeys: config.server.apiKeys, basePath: consolePath, logger });
    }
    api = createApiHandler({
      manager,
      apiKeys: config.server.apiKeys,
      allowNoKeysOnLoopback: config.server.allowNoKeysOnLoopback,
      allowedOrigins: config.server.allowedOrigins ?? [],
      logger,
      ...(config.server.basePath ? { basePath: config.server.basePath } : {}),
      ...(config.server.maxBodyBytes ? { maxBodyBytes: config.server.maxBodyBytes } : {}),
      ...(connectOptions(config)
        ? { connect: createConnectHandler({ ...connectOptions(config)!, manager, logger }) }
        : {}),
    });
    if (uiBase !== undefined) {
      connectUi = createConnectUiHandler({
        basePath: uiBase,
        allowedOrigins: config.server.allowedOrigins ?? [],
        apiUrl: config.server.basePath || '/',
      });
    }
  } catch (error) {
    await manager.close();
    throw error;
  }
  // The API's entry for requests read straight from Node (request-view.ts): wrapped in a plain
  // function, the API would build a web `Request` for every call, as a fetch-style host does.
  const apiView = viewEntryOf(api);
  const answer = async (request: ApiRequest): Promise<RouteAnswer> => {
    const { pathname } = request;
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
    if (consolePages && consolePath !== false && isUnder(pathname, consolePath))
      return consolePages(request.toRequest());
    if (connectUi && uiBase !== undefined) {
      if (pathname === uiBase || pathname.startsWith(`${uiBase}/`)) return connectUi(request.toRequest());
      // A session's connect_link names the API's /connect/ui/: the page lives here.
      if (pathname === `${config.server.basePath?.replace(/\/+$/, '') ?? ''}/connect/ui/`) {
        return Response.redirect(new URL(`${uiBase}/${request.url.search}`, request.url), 303);
      }
    }
    return apiView ? apiView(request) : api(request.toRequest());
  };
  const handler = withViewEntry((request) => answer(fromRequest(request)).then(asResponse), answer);
  const listener = toNodeListener(handler);
  const server = createServer(
    {
      headersTimeout: timeouts.headersTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      keepAliveTimeout: timeouts.keepAliveTimeoutMs,
      // How often Node checks the two timeouts above (its default, 30 s, would let a stalled
      // socket outlive a short timeout by that much).
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(timeouts.headersTimeoutMs / 2))),
    },
    (req, res) => {
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
    },
  );
  // Nango's connect WebSocket, on this port: at `/` (the SDK's default `websocketsPath`), or under the base path.
  const sockets = createConnectWebSocket({
    manager,
    allowedOrigins: config.server.allowedOrigins ?? [],
    path: config.server.basePath ? `${config.server.basePath.replace(/\/$/, '')}/` : '/',
    logger,
  });
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!sockets.handleUpgrade(request, socket, head)) socket.destroy();
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
      await sockets.close();
      await closed;
      clearTimeout(timer);
      await manager.close();
      logger.info('stopped', {});
    })());
  return { url, server, manager, stop };
}

/**
 * The connect routes' options: the `connect` block (a .js config), or, with `publicUrl` alone,
 * flows started with a connect session, whose callback is this server's `/oauth/callback`.
 */
function connectOptions(config: LatchkeyConfig): Omit<ConnectHandlerOptions, 'manager' | 'logger'> | undefined {
  const allowedOrigins = config.server.allowedOrigins ?? [];
  if (config.server.connect) return { allowedOrigins, ...config.server.connect };
  if (!config.server.publicUrl) return undefined;
  const base = (config.server.basePath ?? '').replace(/\/$/, '');
  return { allowedOrigins, callbackUrl: `${config.server.publicUrl}${base}/oauth/callback` };
}

/** Reads from the store until it answers, pausing `delays` between tries; throws the last error. */
async function probeStore(manager: ConnectionManager, delays: readonly number[], logger: CliLogger): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await manager.list({ connectionId: 'latchkey-startup-probe' });
      return;
    } catch (error) {
      const delay = delays[attempt];
      // Only an unreachable store is worth waiting for; anything else will not change.
      if (delay === undefined || (error as { code?: unknown }).code !== 'storage_error') throw error;
      logger.warn('store unavailable at start, retrying', {
        code: (error as { code?: unknown }).code,
        attempt: attempt + 1,
        retry_in_ms: delay,
      });
      await sleep(delay);
    }
  }
}

/** `--port`: a decimal port number, else a usage error (exit 2) naming the option. */
function portOption(value: string): string {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new InvalidArgumentError('not a port number (0 to 65535).');
  }
  return String(Number(value));
}

/** `/console`, `/console/` and everything below it. */
function isUnder(pathname: string, base: string): boolean {
  const root = base.endsWith('/') ? base.slice(0, -1) : base;
  return pathname === root || pathname.startsWith(`${root}/`);
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
      .option('-p, --port <port>', 'port to listen on (overrides server.port and LATCHKEY_PORT)', portOption)
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

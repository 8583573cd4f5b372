import { randomBytes } from 'node:crypto';
import { ConnectionManager } from '../src/index.js';
import { openStore } from '../src/store/from-url.js';
import { AppFleet } from './apps.js';
import { ClockOffsets } from './clocks.js';
import { type Invariants, judge } from './invariants.js';
import { startProvider } from './provider.js';
import { seededRandom } from './random.js';
import { startReceiver } from './receiver.js';
import { faultSchedule, type FaultKind, type ScheduledFault } from './schedule.js';
import { type StoreKind, startStore } from './stores.js';

export interface SoakOptions {
  store: StoreKind;
  durationS: number;
  processes: number;
  seed: number;
  connections: number;
  /** Every app process runs with the near cache on (`--near-cache`). */
  nearCache?: boolean;
  log: (line: string) => void;
}

export interface SoakResult {
  options: Omit<SoakOptions, 'log'>;
  wallS: number;
  faults: Partial<Record<FaultKind, number>>;
  killsMidRefresh: number;
  invariants: Invariants;
  ops: Record<string, number>;
  refreshes: number;
  refusedByFault: number;
  answersAfterHangUp: number;
  resource: Record<string, number>;
  latency: { calm: number[]; faults: number[] };
  storeSize: Record<string, number>;
  rssMiB: { warm: number | undefined; end: number | undefined };
  errorLogs: Array<[string, number]>;
}

const ACCESS_TOKEN_SECONDS = 30;
const LEASE_MS = 8_000;
// The manager refuses a token timeout not shorter than the lease (a refresh must end while its lease holds).
const TOKEN_TIMEOUT_MS = 6_000;
// Longer than a third of the lease (a renewal happens meanwhile), 2 s inside the token timeout.
const SLOW_ANSWER_MS = 4_000;
const INTEGRATION = 'chaos';
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One soak on one store: start everything, inject the schedule, settle, judge. */
export async function soak(options: SoakOptions): Promise<SoakResult> {
  const { log } = options;
  const began = Date.now();
  const random = seededRandom(options.seed);
  const clocks = new ClockOffsets();
  const provider = await startProvider({ accessTokenSeconds: ACCESS_TOKEN_SECONDS, clocks });
  const webhookSecret = randomBytes(24).toString('hex');
  const receiver = await startReceiver(webhookSecret);
  const store = await startStore(options.store);
  const keys = [randomBytes(32).toString('base64')];
  const apiKey = randomBytes(24).toString('hex');
  const integrations = {
    [INTEGRATION]: {
      provider: 'chaos-provider',
      clientId: provider.clientId,
      clientSecret: provider.clientSecret,
      definition: {
        authMode: 'OAUTH2' as const,
        tokenUrl: `${provider.url}/oauth/token`,
        authorizationUrl: `${provider.url}/oauth/authorize`,
        refreshParams: { chaos_pid: String(process.pid) },
      },
    },
  };
  const harnessManager = async (ring: string[]) =>
    new ConnectionManager({
      store: await openStore(store.url),
      integrations,
      encryptionKey: ring,
      http: { allowInsecureLoopback: true, timeoutMs: TOKEN_TIMEOUT_MS },
      lock: { leaseMs: LEASE_MS, waitMs: 20_000 },
      logger: { warn: () => {}, error: () => {} },
    });

  let fleet: AppFleet | undefined;
  try {
    const seeding = await harnessManager(keys);
    for (let i = 0; i < options.connections; i++) {
      const connectionId = `conn-${i}`;
      await seeding.create({
        connectionId,
        providerConfigKey: INTEGRATION,
        credentials: { type: 'OAUTH2', ...provider.grant(connectionId) },
      });
    }
    await seeding.close();
    log(`${options.store}: ${options.connections} connections stored; starting ${options.processes} app processes`);

    fleet = new AppFleet((slot) => ({
      slot,
      seed: options.seed * 1000 + slot + Math.floor(random() * 1e6),
      storeUrl: store.url,
      providerUrl: provider.url,
      clientId: provider.clientId,
      clientSecret: provider.clientSecret,
      integration: INTEGRATION,
      encryptionKeys: [...keys],
      webhookUrl: receiver.url,
      webhookSecret,
      apiKey,
      connections: options.connections,
      hot: Math.max(1, Math.floor(options.connections / 10)),
      workers: 3,
      pauseMs: 60,
      leaseMs: LEASE_MS,
      tokenTimeoutMs: TOKEN_TIMEOUT_MS,
      nearCache: options.nearCache === true,
    }));
    await fleet.start(options.processes);
    const running = fleet;
    // Every offset sent is recorded (by the process's pid) before the process can apply it.
    const setClock = (slot: number, offsetMs: number) => {
      const pid = running.pidOf(slot);
      if (pid !== undefined) clocks.set(pid, offsetMs);
      running.send(slot, { type: 'clock', offsetMs });
    };

    const schedule = faultSchedule(random, {
      durationS: options.durationS,
      processes: options.processes,
      storeFaults: store.faults,
      leaseMs: LEASE_MS,
    });
    const counts: Partial<Record<FaultKind, number>> = {};
    const windows: Array<[number, number, FaultKind]> = [];
    let killsMidRefresh = 0;
    const hung: string[] = [];
    const start = Date.now();
    const inject = async (fault: ScheduledFault) => {
      const from = Date.now();
      counts[fault.kind] = (counts[fault.kind] ?? 0) + 1;
      switch (fault.kind) {
        case 'app-kill':
          await running.kill(fault.slot);
          break;
        case 'app-kill-mid-refresh': {
          // The next process to send a refresh request is killed while the request is in flight
          // (slot 0, the long-lived one, is spared: another slot's request is awaited).
          const killed = new Promise<void>((resolve) => {
            const hook = async (pid: number) => {
              const slot = running.slotOf(pid);
              if (slot === undefined || slot === 0) {
                provider.onRefreshRequest = hook;
                return false;
              }
              killsMidRefresh++;
              // The provider goes on with the request once the process is dead, not once its
              // successor is up: a request held for a restart (seconds on a loaded machine) would
              // outlive the lease, and the token spent by another process meanwhile would look
              // reused (found in the Postgres runs: the harness's own mistake).
              await new Promise<void>((exited) => void running.kill(slot, exited).then(resolve));
              return true;
            };
            provider.onRefreshRequest = hook;
          });
          const waited = await Promise.race([killed.then(() => true), pause(10_000).then(() => false)]);
          if (!waited) {
            provider.onRefreshRequest = undefined;
            await running.kill(fault.slot);
          }
          break;
        }
        case 'token-5xx':
        case 'token-timeout':
        case 'token-stalled-body':
        case 'token-slow': {
          const kind = (
            {
              'token-5xx': 'status-5xx',
              'token-timeout': 'timeout',
              'token-stalled-body': 'stalled-body',
              'token-slow': 'slow',
            } as const
          )[fault.kind];
          provider.fault = kind;
          provider.slowMs = SLOW_ANSWER_MS; // longer than a third of the lease: it is renewed meanwhile
          await pause(fault.ms);
          if (provider.fault === kind) provider.fault = 'none';
          break;
        }
        case 'receiver-down':
          await receiver.down();
          await pause(fault.ms);
          await receiver.up();
          break;
        case 'clock-offset':
          setClock(fault.slot, fault.offsetMs);
          await pause(fault.ms);
          setClock(fault.slot, 0);
          break;
        case 'key-rotation': {
          // Each step restarts every process at once (a deploy), to keep CI's runs short.
          const restartAll = () =>
            Promise.all(Array.from({ length: options.processes }, (_, slot) => running.restart(slot)));
          // The documented procedure (docs/running-the-server.md): the new key second (decrypt
          // only) on every process, then first on every process, then the rewrite.
          const fresh = randomBytes(32).toString('base64');
          keys.push(fresh);
          await restartAll();
          log(`${options.store}: key rotation: every process restarted with the new key second`);
          keys.splice(keys.indexOf(fresh), 1);
          keys.unshift(fresh);
          await restartAll();
          log(`${options.store}: key rotation: every process restarted with the new key first`);
          const rotating = await harnessManager(keys);
          try {
            // As an operator would: a rotation cut short by a dropped connection is run again.
            const rotate = async (attempt: number): Promise<unknown> =>
              rotating.rotateEncryptionKey().catch(async (error: unknown) => {
                if (attempt >= 5 || (error as { transient?: boolean }).transient !== true) throw error;
                await pause(1000);
                return rotate(attempt + 1);
              });
            const result = await rotate(1);
            log(`${options.store}: key rotated: ${JSON.stringify(result)}`);
          } finally {
            await rotating.close();
          }
          break;
        }
        default:
          await store.inject(fault.kind, fault.ms);
      }
      windows.push([from, Date.now(), fault.kind]);
    };

    const tasks: Array<Promise<void>> = [];
    const pending = new Set<string>();
    let next = 0;
    let lastReport = 0;
    while (Date.now() - start < options.durationS * 1000) {
      const elapsed = (Date.now() - start) / 1000;
      while (next < schedule.length && (schedule[next]?.at ?? Infinity) <= elapsed) {
        const fault = schedule[next++]!;
        const label = `${fault.kind}@${fault.at}s`;
        pending.add(label);
        tasks.push(
          inject(fault)
            .catch((error: unknown) => {
              log(`${options.store}: fault ${fault.kind} could not be injected: ${(error as Error).message}`);
            })
            .finally(() => pending.delete(label)),
        );
      }
      if (elapsed - lastReport >= 10) {
        lastReport = elapsed;
        // Checked continuously: a reuse or a stale token is printed the moment it is seen.
        log(
          `${options.store} t=${Math.round(elapsed)}s refreshes=${provider.refreshes} reuse=${provider.reuse.length} ` +
            `stale=${provider.verdicts.expiredWhenHandedOut} deaths=${running.stats.unexpectedDeaths.length} ` +
            `kills=${running.stats.injectedKills} webhooks=${receiver.received.size}`,
        );
      }
      await pause(200);
    }
    // A fault still under way 3 minutes after the end is a hang: named in the report, not waited for.
    const finished = await Promise.race([Promise.all(tasks).then(() => true), pause(180_000).then(() => false)]);
    if (!finished) hung.push(...[...pending].map((label) => `fault ${label} had not finished 3 minutes after the run`));
    provider.fault = 'none';
    await receiver.up();
    for (let slot = 0; slot < options.processes; slot++) setClock(slot, 0);
    log(`${options.store}: faults over; settling (webhooks drained, refreshes caught up)`);

    // Calm: the outbox must drain. Judged by the store, with a deadline (not a sleep).
    const settleDeadline = Date.now() + 120_000;
    while (Date.now() < settleDeadline) {
      const size = await store.size().catch(() => ({}) as Record<string, number>);
      if ((size.webhook ?? 0) === 0) break;
      await pause(500);
    }
    await running.close();

    // The end check: every connection still stored refreshes once more, from a fresh manager.
    const checker = await harnessManager(keys);
    const endRefreshFailures: string[] = [];
    const stored: string[] = [];
    try {
      // The fleet was stopped while it worked, as a deploy stops instances: a change stored as it
      // stopped has its webhook in the outbox, for the next process that runs a sender. This one
      // is that process; it sends them before the end check (a webhook still held for its change
      // waits out its hold, 60 s). What it leaves is judged below.
      const leftByStop = (await store.size()).webhook ?? 0;
      if (leftByStop > 0) {
        log(
          `${options.store}: the fleet's stop left ${leftByStop} webhooks in the outbox; the next process sends them`,
        );
        for (const entry of await outboxEntries(store.url, start)) log(`  ${entry}`);
        const sender = checker.startWebhooks({ url: receiver.url, secret: webhookSecret, pollIntervalMs: 500 });
        const deadline = Date.now() + 90_000;
        while (
          Date.now() < deadline &&
          ((await store.size().catch(() => ({ webhook: 1 }) as Record<string, number>)).webhook ?? 0) > 0
        ) {
          await pause(500);
        }
        await sender.stop();
      }
      let page = await checker.list({ limit: 500 });
      for (;;) {
        stored.push(...page.connections.map((c) => c.connection_id));
        if (!page.nextCursor) break;
        page = await checker.list({ limit: 500, cursor: page.nextCursor });
      }
      for (const connectionId of stored) {
        await checker
          .get(connectionId, { forceRefresh: true, providerConfigKey: INTEGRATION })
          .catch((error: unknown) =>
            endRefreshFailures.push(
              `${connectionId}: ${(error as { code?: string }).code ?? (error as Error).message}`,
            ),
          );
      }
    } finally {
      await checker.close();
    }

    const storeSize = await store.size();
    const outboxLeft = (storeSize.webhook ?? 0) > 0 ? await outboxEntries(store.url, start) : [];
    const invariants = judge({
      provider,
      receiver,
      stats: running.stats,
      stored,
      endRefreshFailures,
      connections: options.connections,
      storeSize,
      processes: options.processes,
      killedPids: running.killedPids,
      stoppedPids: running.stoppedPids,
      judgeMemory: options.durationS >= 120,
      hung,
      faultsAt: (t: number) =>
        windows
          .filter(([a, b]) => t >= a - 1000 && t <= b + 1000)
          .map(([a, , kind]) => `${kind}@${Math.round((a - start) / 1000)}s`),
      runStart: start,
      outboxLeft,
    });
    const inFault = (t: number) => windows.some(([a, b]) => t >= a && t <= b);
    const latency = { calm: [] as number[], faults: [] as number[] };
    for (const [t, ms] of running.stats.latencies) (inFault(t) ? latency.faults : latency.calm).push(ms);
    const rss = running.stats.rss;
    const warmAt = rss.length > 0 ? rss[0]![0] + (rss[rss.length - 1]![0] - rss[0]![0]) * 0.25 : 0;
    return {
      options: {
        store: options.store,
        durationS: options.durationS,
        processes: options.processes,
        seed: options.seed,
        connections: options.connections,
      },
      wallS: Math.round((Date.now() - began) / 1000),
      faults: counts,
      killsMidRefresh,
      invariants,
      ops: running.stats.ops,
      refreshes: provider.refreshes,
      refusedByFault: provider.refusedByFault,
      answersAfterHangUp: provider.answersAfterHangUp,
      resource: { ...provider.verdicts },
      latency,
      storeSize,
      rssMiB: {
        warm: mib(rss.find(([t]) => t >= warmAt)?.[1]),
        end: mib(rss[rss.length - 1]?.[1]),
      },
      errorLogs: [...running.stats.errorLogs].sort((a, b) => b[1] - a[1]).slice(0, 12),
    };
  } finally {
    await fleet?.close().catch(() => undefined);
    await provider.close().catch(() => undefined);
    await receiver.close().catch(() => undefined);
    await store.close().catch(() => undefined);
  }
}

function mib(bytes: number | undefined): number | undefined {
  return bytes === undefined ? undefined : Math.round(bytes / 1024 / 1024);
}

/**
 * The outbox entries still stored, each as what it says of itself (held for a change or not,
 * attempts, last error, when due): evidence for an entry the drain left behind.
 */
async function outboxEntries(url: string, runStart: number): Promise<string[]> {
  const adapter = await openStore(url);
  try {
    const entries = await adapter.scan('webhook:', { limit: 20 });
    return entries.map(({ key, value }) => {
      const entry = JSON.parse(value) as {
        held?: { connection: string; operation: string };
        body?: string;
        attempts?: number;
        lastError?: string;
        createdAt?: number;
        nextAttemptAt?: number;
      };
      const about = entry.held
        ? `held for ${entry.held.operation} of ${entry.held.connection}`
        : `for ${(JSON.parse(entry.body ?? '{}') as { connectionId?: string }).connectionId ?? '?'}`;
      const at = (t: number | undefined) => (t === undefined ? '?' : `${Math.round((t - runStart) / 1000)}s`);
      return (
        `${key}: ${about}, written at ${at(entry.createdAt)}, attempts ${entry.attempts ?? '?'}` +
        `${entry.lastError ? ` (last: ${entry.lastError})` : ''}, due at ${at(entry.nextAttemptAt)}`
      );
    });
  } catch (error) {
    return [`(could not read the outbox: ${(error as Error).message})`];
  } finally {
    await adapter.close();
  }
}

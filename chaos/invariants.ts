import type { AppStats } from './apps.js';
import type { Provider } from './provider.js';
import type { Receiver } from './receiver.js';

/** One count per invariant (0 = held) and the evidence behind each non-zero one. */
export interface Invariants {
  counts: {
    refreshTokenReuse: number;
    lostConnections: number;
    staleTokensHandedOut: number;
    webhooksLost: number;
    webhooksForUnstoredChanges: number;
    unexpectedDeaths: number;
    hangs: number;
    memoryGrowth: number;
    storeUnbounded: number;
  };
  /** Grants lost because the only process holding a rotated token's answer was SIGKILLed. */
  grantsLostToKills: number;
  evidence: string[];
}

/**
 * How long after a refresh answer the SIGKILL of the process that received it still counts as
 * having destroyed that answer (the store write follows the answer by milliseconds when the
 * store is up, by up to the lease and retries when it is not).
 */
const KILL_ATTRIBUTION_MS = 15_000;

export function judge(input: {
  provider: Provider;
  receiver: Receiver;
  stats: AppStats;
  stored: string[];
  endRefreshFailures: string[];
  connections: number;
  storeSize: Record<string, number>;
  processes: number;
  killedPids: Map<number, number>;
  /** Evidence only: pids stopped gracefully, with when. */
  stoppedPids: Map<number, number>;
  judgeMemory: boolean;
  /** Faults whose injection never finished (a graceful stop or a rotation that hung). */
  hung: string[];
  /** Evidence only: the faults under way (±1 s) at an instant, and when the faults began. */
  faultsAt: (t: number) => string[];
  runStart: number;
  /** Evidence only: what each entry left in the outbox after the drain says of itself. */
  outboxLeft: string[];
}): Invariants {
  const evidence: string[] = [];
  const { provider, receiver, stats } = input;

  // 1. Double spends. A reuse whose fresh answer went to a process killed right then (and whose
  // successor nobody ever presented) is the provider and the kill at work: no client can keep an
  // answer it never read. Every other reuse is a double spend.
  const lostToKill = new Set<string>();
  let reuse = 0;
  for (const event of provider.reuse) {
    const killedAt = event.rotation ? input.killedPids.get(event.rotation.pid) : undefined;
    const attributed =
      event.rotation !== undefined &&
      killedAt !== undefined &&
      !event.successorPresented &&
      killedAt >= event.rotation.answeredAt - KILL_ATTRIBUTION_MS &&
      killedAt <= event.rotation.answeredAt + KILL_ATTRIBUTION_MS;
    if (attributed) lostToKill.add(event.connectionId);
    else {
      reuse++;
      const pid = event.rotation?.pid;
      const relative = (at: number | undefined) =>
        at === undefined || !event.rotation ? '' : ` ${at - event.rotation.answeredAt} ms from the answer`;
      const fate = pid === undefined ? '' : killedAt !== undefined ? `, killed${relative(killedAt)}` : '';
      const stopped = pid === undefined ? undefined : input.stoppedPids.get(pid);
      evidence.push(
        `reuse: ${event.connectionId}'s family revoked (answer went to pid ${pid ?? '?'}${fate}` +
          `${stopped === undefined ? '' : `, stopped gracefully${relative(stopped)}`}; ` +
          `spent token presented again by pid ${event.presentedBy}${input.killedPids.has(event.presentedBy) ? ' (killed)' : ''} ` +
          `${event.rotation ? event.at - event.rotation.answeredAt : '?'} ms after the answer; ` +
          `successor ${event.successorPresented ? 'presented' : 'never presented'}; ` +
          `at ${Math.round((event.at - input.runStart) / 1000)}s, during ${input.faultsAt(event.at).join(' ') || 'no fault'})`,
      );
      // What the provider saw and what the processes did about this connection before the reuse.
      const since = (event.rotation?.answeredAt ?? event.at) - 15_000;
      const lines = [
        ...(provider.history.get(event.connectionId) ?? []).map((e) => ({ ...e, who: 'provider' })),
        ...(stats.traces.get(event.connectionId) ?? []).map((e) => ({ ...e, who: 'app' })),
      ]
        .filter((e) => e.at >= since && e.at <= event.at + 5_000)
        .sort((a, b) => a.at - b.at);
      for (const line of lines) {
        evidence.push(
          `    ${((line.at - input.runStart) / 1000).toFixed(2)}s ${line.who} pid ${line.pid}: ${line.what}`,
        );
      }
    }
  }

  // 2. Nothing lost: every stable connection still stored, every stored one refreshes.
  const storedSet = new Set(input.stored);
  let lost = 0;
  for (let i = 0; i < input.connections; i++) {
    if (!storedSet.has(`conn-${i}`)) {
      lost++;
      evidence.push(`lost: conn-${i} is no longer stored`);
    }
  }
  for (const failure of input.endRefreshFailures) {
    const connectionId = failure.split(':')[0] ?? '';
    if (lostToKill.has(connectionId)) continue;
    lost++;
    evidence.push(`lost: ${failure} (does not refresh at the end)`);
  }

  // 3. Stale tokens: judged by the provider's clock when the request arrived (see provider.ts).
  const revokedUnexcused = provider.revokedTokenUsers.filter((id) => !lostToKill.has(id));
  const stale = provider.verdicts.expiredWhenHandedOut + provider.verdicts.unknown + revokedUnexcused.length;
  evidence.push(...provider.violations.slice(0, 20));
  for (const id of revokedUnexcused.slice(0, 10)) evidence.push(`stale: a revoked token of ${id} was used`);

  // 4. Webhooks: per connection, distinct creation/override webhooks vs changes stored and attempted.
  const received = new Map<string, number>();
  for (const webhook of receiver.received.values()) {
    if (webhook.operation !== 'creation' && webhook.operation !== 'override') continue;
    received.set(webhook.connectionId, (received.get(webhook.connectionId) ?? 0) + 1);
  }
  const storedChanges = new Map<string, number>();
  const attempted = new Map<string, number>();
  for (const change of stats.changes) {
    if (change.kind !== 'upsert') continue;
    const into = change.phase === 'stored' ? storedChanges : change.phase === 'attempt' ? attempted : undefined;
    into?.set(change.connectionId, (into.get(change.connectionId) ?? 0) + 1);
  }
  let webhooksLost = 0;
  let webhooksSpurious = 0;
  for (const connectionId of new Set([...received.keys(), ...storedChanges.keys(), ...attempted.keys()])) {
    const w = received.get(connectionId) ?? 0;
    const s = storedChanges.get(connectionId) ?? 0;
    const a = attempted.get(connectionId) ?? 0;
    if (w < s) {
      webhooksLost += s - w;
      const fates = stats.changes
        .filter(
          (change) => change.connectionId === connectionId && change.kind === 'upsert' && change.phase === 'stored',
        )
        .map((change) => {
          const pid = Number(change.changeId.split('.')[1]);
          const killed = input.killedPids.has(pid) ? ' killed later' : '';
          const stopBegan = input.stoppedPids.get(pid);
          const stopped =
            stopBegan === undefined
              ? ''
              : change.at >= stopBegan
                ? ` stored ${change.at - stopBegan} ms after its stop began`
                : ' stopped later';
          return `${change.changeId}${killed}${stopped}`;
        });
      evidence.push(
        `webhooks: ${connectionId} had ${s} changes stored, ${w} webhooks delivered (stored by ${fates.join(', ')})`,
      );
    }
    if (w > a) {
      webhooksSpurious += w - a;
      evidence.push(`webhooks: ${connectionId} got ${w} creation/override webhooks for ${a} attempted changes`);
    }
  }
  if (receiver.badSignatures > 0) evidence.push(`webhooks: ${receiver.badSignatures} bad signatures`);

  // 5. Deaths the harness did not cause.
  for (const death of stats.unexpectedDeaths) evidence.push(`death: ${death}`);

  for (const hang of input.hung) evidence.push(`hang: ${hang}`);

  // 6. Memory of the long-lived process (slot 0): RSS at a quarter of its life vs at the end.
  let memoryGrowth = 0;
  const rss = stats.rss;
  if (input.judgeMemory && rss.length > 20) {
    const first = rss[0]![0];
    const last = rss[rss.length - 1]!;
    const warm = rss.find(([t]) => t >= first + (last[0] - first) * 0.25)!;
    if (last[1] > warm[1] * 1.5 + 64 * 1024 * 1024) {
      memoryGrowth = 1;
      evidence.push(`memory: slot 0 RSS ${mib(warm[1])} MiB after warm-up, ${mib(last[1])} MiB at the end`);
    }
  }

  // 7. Store size: the outbox drained, and no more keys than the connections explain.
  let storeUnbounded = 0;
  const total = Object.values(input.storeSize).reduce((sum, n) => sum + n, 0);
  const bound = 3 * input.stored.length + 100;
  if ((input.storeSize.webhook ?? 0) > 0) {
    storeUnbounded++;
    evidence.push(`store: ${input.storeSize.webhook} webhooks still in the outbox after the drain`);
    for (const entry of input.outboxLeft) evidence.push(`store: left in the outbox: ${entry}`);
  }
  if (total > bound) {
    storeUnbounded++;
    evidence.push(
      `store: ${total} keys for ${input.stored.length} connections (bound ${bound}): ${JSON.stringify(input.storeSize)}`,
    );
  }

  return {
    counts: {
      refreshTokenReuse: reuse,
      lostConnections: lost,
      staleTokensHandedOut: stale,
      webhooksLost,
      webhooksForUnstoredChanges: webhooksSpurious,
      unexpectedDeaths: stats.unexpectedDeaths.length,
      hangs: input.hung.length,
      memoryGrowth,
      storeUnbounded,
    },
    grantsLostToKills: lostToKill.size,
    evidence,
  };
}

function mib(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}

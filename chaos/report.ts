import { percentile } from './random.js';
import type { SoakResult } from './soak.js';

/** The report of one store's soak, as plain lines (docs/reliability.md quotes them). */
export function printReport(result: SoakResult): void {
  const { options, invariants } = result;
  const lines = [
    `=== ${options.store}: ${options.durationS} s, ${options.processes} processes, ${options.connections} connections, seed ${options.seed} (wall ${result.wallS} s)`,
    `faults: ${Object.entries(result.faults)
      .map(([k, n]) => `${k}=${n}`)
      .join(' ')} (kills while a refresh was in flight: ${result.killsMidRefresh})`,
    `operations: ${Object.entries(result.ops)
      .sort()
      .map(([k, n]) => `${k}=${n}`)
      .join(' ')}`,
    `refreshes granted: ${result.refreshes}; token requests refused by an injected fault: ${result.refusedByFault}; ` +
      `answers the client had hung up on (rolled back): ${result.answersAfterHangUp}`,
    `resource API: ${Object.entries(result.resource)
      .map(([k, n]) => `${k}=${n}`)
      .join(' ')}`,
    `get latency ms (calm, n=${result.latency.calm.length}): ${latencies(result.latency.calm)}`,
    `get latency ms (during faults, n=${result.latency.faults.length}): ${latencies(result.latency.faults)}`,
    `store at the end: ${JSON.stringify(result.storeSize)}`,
    `slot 0 RSS MiB: after warm-up ${result.rssMiB.warm ?? '?'}, at the end ${result.rssMiB.end ?? '?'}`,
    `grants lost to a SIGKILL of the only process holding the rotated answer (not counted): ${invariants.grantsLostToKills}`,
    `invariants: ${Object.entries(invariants.counts)
      .map(([k, n]) => `${k}=${n}`)
      .join(' ')}`,
  ];
  if (result.errorLogs.length > 0) {
    lines.push(`logs (top): ${result.errorLogs.map(([m, n]) => `${n}× ${m}`).join(' | ')}`);
  }
  for (const line of invariants.evidence.slice(0, 30)) lines.push(`  ! ${line}`);
  console.log(lines.join('\n'));
}

function latencies(values: number[]): string {
  return [50, 90, 99, 100].map((p) => `p${p}=${percentile(values, p) ?? '-'}`).join(' ');
}

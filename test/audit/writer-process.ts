/**
 * A second (and third) process for the Postgres audit test, run with `node --import tsx`: a
 * manager with the audit trail on, on the Postgres database `argv[2]`, that makes `argv[4]` mixed
 * operations as actor `argv[3]` (creates, reads, metadata updates, deletes, and reads and signs
 * that fail), four at a time, then closes and prints one JSON line with what it did.
 * Every secret it stores starts with `argv[5]`, so the test can look for it in the trail.
 */
import { postgresStore } from '../../adapters/postgres.js';
import { ConnectionManager } from '../../src/index.js';

const [uri, actor, countText, seed, encryptionKey] = process.argv.slice(2) as [string, string, string, string, string];
const count = Number(countText);
const manager = new ConnectionManager({
  store: postgresStore(uri),
  encryptionKey,
  logger: {
    warn: (message) => process.stderr.write(`${message}\n`),
    error: (message) => process.stderr.write(`${message}\n`),
  },
  audit: { actor, batchSize: 50, flushIntervalMs: 20 },
  integrations: { keyed: { provider: 'keyed-api', definition: { authMode: 'API_KEY' } } },
});

const LANES = 4;
let done = 0;
let failed = 0;
const live: string[][] = Array.from({ length: LANES }, () => []);

async function operation(lane: number, i: number): Promise<void> {
  const mine = live[lane]!;
  const id = `${actor}-${lane}-${i}`;
  const step = i % 10;
  if (step === 0 || mine.length === 0) {
    await manager.create({
      connectionId: id,
      providerConfigKey: 'keyed',
      credentials: { type: 'API_KEY', apiKey: `${seed}-key-${id}` },
      metadata: { note: `${seed}-meta-${id}` },
    });
    mine.push(id);
  } else if (step === 5) {
    await manager.delete({ connectionId: mine.shift()!, providerConfigKey: 'keyed' });
  } else if (step === 3) {
    await manager.updateMetadata(
      { connectionId: mine[0]!, providerConfigKey: 'keyed' },
      { other: `${seed}-meta2-${id}` },
    );
  } else if (step === 7) {
    await manager.get(`${id}-missing`).catch(() => failed++);
  } else if (step === 9) {
    await manager.signRequest(mine[0]!, { method: 'GET', url: 'https://example.com/' }).catch(() => failed++);
  } else {
    await manager.get(mine[mine.length - 1]!);
  }
  done++;
}

await Promise.all(
  Array.from({ length: LANES }, async (_, lane) => {
    for (let i = lane; i < count; i += LANES) await operation(lane, i);
  }),
);
await manager.close();
process.stdout.write(`${JSON.stringify({ done, failed })}\n`);

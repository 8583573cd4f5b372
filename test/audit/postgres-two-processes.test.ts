/**
 * The audit trail on one embedded Postgres written by two processes at once: 10,000 mixed
 * operations make one unbroken chain of 10,000 entries; an entry edited with SQL, or a row deleted
 * with SQL, makes `verify` (and `latchkey audit verify`) fail naming that entry; and no stored
 * secret appears in any audit record in any encoding.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresStore } from '../../adapters/postgres.js';
import { auditListCommand, auditVerifyCommand } from '../../src/cli/commands/audit.js';
import { verifyAuditTrail } from '../../src/index.js';
import { capturedIo } from '../support/captured-io.js';
import { type RunningPostgres, startPostgres } from '../support/postgres.js';
import { allEntries, auditTexts, encodings } from './support.js';

const OPERATIONS_PER_PROCESS = 5_000;
const workerPath = fileURLToPath(new URL('./writer-process.ts', import.meta.url));

let postgres: RunningPostgres;
beforeAll(async () => {
  postgres = await startPostgres();
}, 120_000);
afterAll(async () => {
  await postgres?.stop();
});

async function runWriter(uri: string, actor: string, seed: string, encryptionKey: string) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', workerPath, uri, actor, String(OPERATIONS_PER_PROCESS), seed, encryptionKey],
    { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(stdout) as { done: number; failed: number };
}

describe('the audit trail on Postgres, written by two processes', () => {
  it('keeps one verifiable chain of 10,000 entries, detects SQL edits and deletes, and holds no secret', async () => {
    const uri = await postgres.createDatabase();
    const seed = `s3cr3t"/+${randomBytes(12).toString('hex')}`;
    const encryptionKey = randomBytes(32).toString('base64');
    const results = await Promise.all([
      runWriter(uri, 'proc-a', seed, encryptionKey),
      runWriter(uri, 'proc-b', seed, encryptionKey),
    ]);
    expect(results.map((result) => result.done)).toEqual([OPERATIONS_PER_PROCESS, OPERATIONS_PER_PROCESS]);

    const store = postgresStore(uri);
    const client = new pg.Client({ connectionString: uri });
    await client.connect();
    try {
      const entries = await allEntries(store);
      expect(entries).toHaveLength(2 * OPERATIONS_PER_PROCESS);
      expect(entries.filter((entry) => entry.actor === 'proc-a')).toHaveLength(OPERATIONS_PER_PROCESS);
      // Both processes' batches interleave in the one chain.
      const batches = await client.query<{ key: string; value: string }>(
        `SELECT key, value FROM latchkey WHERE key LIKE 'audit:batch:%' ORDER BY key COLLATE "C"`,
      );
      const actors = batches.rows.map(
        (row) => (JSON.parse(row.value) as { entries: Array<{ actor: string }> }).entries[0]!.actor,
      );
      expect(actors.slice(0, -1).some((actor, index) => actor !== actors[index + 1])).toBe(true);
      expect(await verifyAuditTrail(store)).toMatchObject({ ok: true, entries: 2 * OPERATIONS_PER_PROCESS, first: 1 });
      const verifyOk = capturedIo();
      expect(await auditVerifyCommand(store, verifyOk.io)).toBe(0);
      expect(verifyOk.stdout()).toMatch(/^ok: 10000 entries \(1 to 10000\), head [0-9a-f]{64}\n$/);

      // No secret, in any encoding: the seed every stored secret starts with, and the encryption key.
      const texts = await auditTexts(store);
      const all = texts.join('\n');
      const needles = [...encodings(seed), ...shiftedBase64(seed), ...encodings(encryptionKey)];
      expect(needles.filter((needle) => all.includes(needle))).toEqual([]);
      expect(all).not.toContain('-key-proc-');
      expect(all).not.toContain('-meta');

      // Edit an entry inside a batch in the middle, with SQL (the fourth, or the last of a smaller
      // batch: how many entries a batch holds depends on how fast the processes ran).
      const middle = batches.rows[Math.floor(batches.rows.length / 2)]!;
      const middleEntries = (JSON.parse(middle.value) as { entries: Array<{ seq: number; action: string }> }).entries;
      const position = Math.min(3, middleEntries.length - 1);
      const edited = middleEntries[position]!.seq;
      // Another action than the one recorded, so the edit changes the entry.
      const forged = middleEntries[position]!.action === 'delete' ? 'read' : 'delete';
      await client.query(
        `UPDATE latchkey SET value = jsonb_set(value::jsonb, $2::text[], to_jsonb($3::text))::text WHERE key = $1`,
        [middle.key, `{entries,${position},action}`, forged],
      );
      expect(await verifyAuditTrail(store)).toMatchObject({ ok: false, broken: { seq: edited } });
      const verifyEdited = capturedIo();
      expect(await auditVerifyCommand(store, verifyEdited.io)).toBe(1);
      expect(verifyEdited.stderr()).toBe(
        `error: audit_trail_broken: entry ${edited}: its content does not match its hash\n`,
      );

      // Put it back; delete another row in the middle instead.
      await client.query(`UPDATE latchkey SET value = $2 WHERE key = $1`, [middle.key, middle.value]);
      expect(await verifyAuditTrail(store)).toMatchObject({ ok: true });
      const deleted = batches.rows[Math.floor(batches.rows.length / 3)]!;
      const firstDeleted = (JSON.parse(deleted.value) as { entries: Array<{ seq: number }> }).entries[0]!.seq;
      await client.query(`DELETE FROM latchkey WHERE key = $1`, [deleted.key]);
      expect(await verifyAuditTrail(store)).toMatchObject({ ok: false, broken: { seq: firstDeleted } });

      // The list, filtered by connection.
      const list = capturedIo();
      expect(await auditListCommand(store, { connectionId: 'proc-a-0-0', json: true }, list.io)).toBe(0);
      const listed = list
        .stdout()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { action: string });
      expect(listed.map((entry) => entry.action)).toContain('create');
    } finally {
      await client.end();
      await store.close();
    }
  }, 600_000);
});

/** Base64 of the secret at the two other byte alignments it could sit at inside a longer encoded text. */
function shiftedBase64(secret: string): string[] {
  return [1, 2].map((shift) => {
    const encoded = Buffer.concat([Buffer.alloc(shift), Buffer.from(secret)]).toString('base64');
    // Drop the characters that mix in the padding bytes and the last partial group.
    return encoded.slice(4, -4);
  });
}

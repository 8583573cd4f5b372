import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

/**
 * Another process holding a SQLite file's write lock (`BEGIN EXCLUSIVE`): every write from this
 * process then waits out its busy timeout and fails with SQLITE_BUSY, while WAL readers still read.
 */
export interface SqliteHolder {
  /** Takes the write lock; resolves once the other process holds it. */
  hold(): Promise<void>;
  /** Commits and lets go of the lock; resolves once released. */
  release(): Promise<void>;
  stop(): Promise<void>;
}

const script = `
const sqlite3 = require('sqlite3');
const db = new sqlite3.Database(process.argv[1]);
// Taking the lock waits out a write under way in the process under test instead of failing.
db.configure('busyTimeout', 10000);
const run = (sql) => new Promise((resolve, reject) => db.run(sql, (e) => (e ? reject(e) : resolve())));
process.stdin.setEncoding('utf8');
let buffer = '';
process.stdin.on('data', async (chunk) => {
  buffer += chunk;
  let newline;
  while ((newline = buffer.indexOf('\\n')) >= 0) {
    const command = buffer.slice(0, newline);
    buffer = buffer.slice(newline + 1);
    try {
      if (command === 'hold') await run('BEGIN EXCLUSIVE');
      if (command === 'release') await run('COMMIT');
      process.stdout.write(command + ' ok\\n');
    } catch (error) {
      process.stdout.write(command + ' failed ' + error.message + '\\n');
    }
  }
});
process.stdin.on('end', () => db.close());
`;

export async function startSqliteHolder(path: string): Promise<SqliteHolder> {
  const child: ChildProcess = spawn(process.execPath, ['-e', script, path], {
    cwd: process.cwd(),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdout!.setEncoding('utf8');
  const answer = async (command: string) => {
    const reply = new Promise<string>((resolve) => {
      let text = '';
      const onData = (chunk: string) => {
        text += chunk;
        if (text.includes('\n')) {
          child.stdout!.off('data', onData);
          resolve(text.trim());
        }
      };
      child.stdout!.on('data', onData);
    });
    child.stdin!.write(`${command}\n`);
    const line = await reply;
    if (line !== `${command} ok`) throw new Error(`sqlite holder: ${line}`);
  };
  return {
    hold: () => answer('hold'),
    release: () => answer('release'),
    async stop() {
      child.stdin!.end();
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

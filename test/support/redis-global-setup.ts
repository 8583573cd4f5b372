import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

/**
 * Says once per run, plainly, when the Redis tests could not run: each Redis test file that found
 * no Redis appends to a marker file, and this prints one line after the run if it exists.
 */
export default function setup(project: TestProject): () => void {
  const marker = join(tmpdir(), `latchkey-redis-not-run-${process.pid}-${Date.now()}`);
  project.provide('redisNotRunMarker', marker);
  return () => {
    if (!existsSync(marker)) return;
    const files = readFileSync(marker, 'utf8').trim().split('\n').length;
    rmSync(marker, { force: true });
    console.log(
      `\nRedis suite NOT run: install redis-server or set REDIS_URL (${files} Redis test file${files === 1 ? '' : 's'} ran a placeholder instead)\n`,
    );
  };
}

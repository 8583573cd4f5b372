import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import type { StorageAdapter } from '../../src/store/adapter.js';
import { guardAdapter } from '../../src/store/guarded-adapter.js';
import { captureLogs } from '../support/logs.js';
import { storageErrorOf } from '../support/storage-errors.js';

/** A store whose reads fail with `error`, classified by `classifyError` when given. */
function failing(error: unknown, classifyError?: StorageAdapter['classifyError']): StorageAdapter {
  const store = memoryStore();
  return {
    ...store,
    name: 'flaky',
    get: () => Promise.reject(error),
    ...(classifyError && { classifyError }),
  };
}

describe('the storage guard', () => {
  it('asks the adapter whether a failure may pass, and knows no driver code itself', async () => {
    const { logger } = captureLogs();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    // The same socket failure: transient when the adapter says so, permanent when it has no say.
    const classified = await storageErrorOf(
      guardAdapter(
        failing(refused, () => 'transient'),
        logger,
      ).get('k'),
    );
    expect(classified.transient).toBe(true);
    expect(classified.message).toMatch(/this may pass/);
    const unclassified = await storageErrorOf(guardAdapter(failing(refused), logger).get('k'));
    expect(unclassified.transient).toBe(false);
    const undecided = await storageErrorOf(
      guardAdapter(
        failing(refused, () => undefined),
        logger,
      ).get('k'),
    );
    expect(undecided.transient).toBe(false);
  });

  it('keeps a failure permanent, and reported, when the classifier itself throws', async () => {
    const { logger } = captureLogs();
    const adapter = failing(new Error('odd'), () => {
      throw new Error('classifier bug');
    });
    const error = await storageErrorOf(guardAdapter(adapter, logger).get('k'));
    expect(error.transient).toBe(false);
    expect(error.message).toContain('odd');
  });

  it('masks a password in the driver message, and keeps the driver error as a hidden cause', async () => {
    const { logger } = captureLogs();
    const driverError = new Error('cannot reach postgres://admin:hunter2@db:5432/latchkey');
    const error = await storageErrorOf(
      guardAdapter(
        failing(driverError, () => 'permanent'),
        logger,
      ).get('k'),
    );
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain('//***@db');
    expect(error.cause).toBe(driverError);
    expect(JSON.stringify(error)).not.toContain('hunter2');
  });
});

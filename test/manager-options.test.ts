import { describe, expect, it } from 'vitest';
import { ConnectionManager, InvalidRequestError } from '../src/index.js';
import { memoryStore } from '../adapters/memory.js';

function refusal(options: unknown): InvalidRequestError {
  try {
    new ConnectionManager(options as ConstructorParameters<typeof ConnectionManager>[0]);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    return error as InvalidRequestError;
  }
  throw new Error('the manager was built');
}

describe('manager options are checked by schema at construction', () => {
  it('failurePolicy.backoffBaseMs = "30s" is refused when the manager is built, naming the field', () => {
    const error = refusal({ failurePolicy: { backoffBaseMs: '30s' } });
    expect(error.field).toBe('failurePolicy.backoffBaseMs');
    expect(error.message).toContain('failurePolicy.backoffBaseMs must be a number');
  });

  it.each([
    [{ failurePolicy: { backoffMaxMs: -1 } }, 'failurePolicy.backoffMaxMs'],
    [{ failurePolicy: { backofBaseMs: 1000 } }, 'failurePolicy.backofBaseMs'],
    [{ lock: { waitMs: Number.NaN } }, 'lock.waitMs'],
    [{ http: { timeoutMs: '10s' } }, 'http.timeoutMs'],
    [{ keepAlive: { refreshAfterMs: 0 } }, 'keepAlive.refreshAfterMs'],
    [{ storageRetry: { maxDelayMs: Infinity } }, 'storageRetry.maxDelayMs'],
    [{ store: { get: () => undefined } }, 'store'],
    [{ logger: console.log }, 'logger'],
    [{ clock: 5 }, 'clock'],
    [{ requireEncryption: 'yes' }, 'requireEncryption'],
    [{ integrations: { github: 'github' } }, 'integrations.github'],
    [{ refreshMarginSeconds: '900' }, 'refreshMarginSeconds'],
  ])('refuses %j naming %s', (options, field) => {
    expect(refusal(options).field).toBe(field);
  });

  it('takes well-formed options, functions and objects included', async () => {
    const manager = new ConnectionManager({
      store: memoryStore(),
      logger: { warn: () => {}, error: () => {} },
      clock: () => Date.now(),
      failurePolicy: { backoffBaseMs: 30_000 },
      lock: { leaseMs: 30_000, waitMs: 1000 },
      http: { timeoutMs: 5000 },
      requireEncryption: false,
    });
    expect((await manager.list()).connections).toEqual([]);
    await manager.close();
  });
});

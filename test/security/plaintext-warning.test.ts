/** The warning a manager without an encryption key gives, through the default (console) logger. */
import { afterEach, expect, it, vi } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { ConnectionManager } from '../../src/index.js';

afterEach(() => {
  vi.restoreAllMocks();
});

it('is the message alone: no stray ` {}` after it', async () => {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  const manager = new ConnectionManager({ store: memoryStore() });
  await manager.close();
  const plaintext = warn.mock.calls.find(([message]) => String(message).includes('PLAIN TEXT'));
  expect(plaintext).toBeDefined();
  expect(plaintext).toHaveLength(1);
});

it('fields, when a line has some, still follow the message', async () => {
  const error = vi.spyOn(console, 'error').mockImplementation(() => {});
  const { consoleLogger } = await import('../../src/operations/options.js');
  consoleLogger.error('failed', { log_id: 'abc' });
  expect(error.mock.calls).toEqual([['failed', { log_id: 'abc' }]]);
});

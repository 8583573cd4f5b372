import { expect } from 'vitest';
import { StorageError } from '../../src/index.js';

/** The `StorageError` `promise` rejects with, checked for what every one must carry. */
export async function storageErrorOf(promise: Promise<unknown>): Promise<StorageError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StorageError);
  const storageError = error as StorageError;
  expect(storageError.code).toBe('storage_error');
  // The driver's error is kept, but hidden from JSON and logs.
  expect(Object.keys(storageError)).not.toContain('cause');
  expect(storageError.cause).toBeDefined();
  return storageError;
}

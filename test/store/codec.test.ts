import { describe, expect, it } from 'vitest';
import { StorageError } from '../../src/index.js';
import { decodeStored } from '../../src/store/versioned-store.js';

describe('the stored-value codec', () => {
  it('reads plain JSON, and the Keyv envelope earlier versions wrote', () => {
    const record = { id: 3, connection_id: 'c', metadata: { value: 'a field named value' } };
    expect(decodeStored('k', JSON.stringify(record))).toEqual(record);
    expect(decodeStored('k', JSON.stringify({ value: record, expires: null }))).toEqual(record);
    expect(decodeStored('k', JSON.stringify({ value: ['api-key'] }))).toEqual(['api-key']);
    // Only an object whose sole fields are value/expires is an envelope.
    const lookalike = { value: 1, other: 2 };
    expect(decodeStored('k', JSON.stringify(lookalike))).toEqual(lookalike);
  });

  it('refuses text that is not JSON with a typed, permanent StorageError naming the key', () => {
    let thrown: unknown;
    try {
      decodeStored('connection:a:b', '{not json');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StorageError);
    expect(thrown).toMatchObject({ code: 'storage_error', transient: false });
    expect((thrown as Error).message).toContain('connection:a:b');
  });
});

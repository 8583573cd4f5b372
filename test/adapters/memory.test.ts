import { afterAll, beforeAll, describe, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { storageConformance } from '../../src/testing/index.js';

storageConformance({ describe, it, beforeAll, afterAll }, 'memory', async () => {
  const store = memoryStore();
  // One process is all a memory store can serve: "opening it again" is a view of the same maps.
  return { store, openAgain: () => ({ ...store, close: async () => {} }) };
});

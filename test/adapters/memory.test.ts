import { memoryStore } from '../../adapters/memory.js';
import { storageConformanceSuite } from '../store/storage-conformance.js';

storageConformanceSuite('memory', async () => {
  const store = memoryStore();
  // One process is all a memory store can serve: "opening it again" shares the same Map.
  return { store, openAgain: () => ({ ...store, close: async () => {} }) };
});

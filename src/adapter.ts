/**
 * `latchkey/adapter`: the storage contract, for authors of storage adapters. An app passes an
 * adapter (`latchkey/adapters/sqlite`, …) to `new ConnectionManager({ store })` and needs none of
 * these names; an adapter implements {@link StorageAdapter} and runs the conformance suite of
 * `latchkey/testing`.
 *
 * @module
 */
export type {
  AttentionCursor,
  ConnectionIndex,
  ConnectionQuery,
  ErrorClass,
  LockClaim,
  LockStore,
  StorageAdapter,
  StopWatching,
  StoreChange,
  StoredEntry,
  WriteOptions,
} from './store/adapter.js';

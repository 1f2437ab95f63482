// Public surface of the storage module: the ObjectStorage contract and its SQLite (kine-style) implementation.
export type {
  ListOptions,
  ListResult,
  ObjectStorage,
  StorageEvent,
  StorageEventType,
  StorageKey,
  StoredObject,
  WatchHandle,
} from './object-storage';
export {
  CorruptStorageError,
  InvalidStorageArgumentError,
  KeyExistsError,
  KeyNotFoundError,
  RevisionCompactedError,
  RevisionConflictError,
  RevisionTooNewError,
  StorageClosedError,
  StorageError,
  UnsupportedSchemaError,
} from './errors';
export type { StorageErrorCode } from './errors';
export { SCHEMA_VERSION } from './schema';
export { SqliteObjectStorage, openSqliteStorage } from './sqlite-object-storage';
export type { SqliteStorageOptions } from './sqlite-object-storage';
export type { ListenerErrorHandler } from './watch-hub';

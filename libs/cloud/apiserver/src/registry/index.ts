// The registry: Kubernetes object semantics (metadata, strategies, deletion, lists) over ObjectStorage.
export { ResourceStore, type UpdateOptions, type UpdateResult, type WriteOptions } from './resource-store';
export {
  CRD_CLEANUP_FINALIZER,
  FOREGROUND_FINALIZER,
  ORPHAN_FINALIZER,
  deletionBlocked,
  type DeleteOptions,
  type DeleteResult,
  type PropagationPolicy,
} from './object-deletion';
export { checkSelectableFields, fieldValueOf, matchesQuery, type ListQuery, type ObjectList } from './object-lists';
export { decodeObject, decodeStored, isStorageCode, objectKey, objectPrefix, toStatusError } from './object-codec';

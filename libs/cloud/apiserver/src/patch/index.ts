// Patch engines for PATCH and server-side apply: JSON patch, JSON merge patch, strategic merge
// patch and a simplified server-side apply. All are pure and throw only PatchError.
export { PatchError, type ApplyConflict, type PatchErrorCode } from './errors';
export { applyJsonPatch, parseJsonPatch, type JsonPatchOperation } from './json-patch';
export { applyMergePatch } from './merge-patch';
export { applyStrategicMergePatch, type StrategicMergeOptions } from './strategic-merge';
export { supportsStrategicMerge } from './patch-meta';
export { serverSideApply, type ManagedFieldsEntry, type ServerSideApplyOptions } from './server-side-apply';

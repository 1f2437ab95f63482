// Patch engines for PATCH and server-side apply: JSON patch, JSON merge patch, strategic merge
// patch and a simplified server-side apply. All are pure and throw only PatchError. The FieldsV1
// field sets live here too; the managed-fields tracker of non-apply writes uses them.
export { PatchError, type ApplyConflict, type PatchErrorCode } from './errors';
export { applyJsonPatch, parseJsonPatch, type JsonPatchOperation } from './json-patch';
export { coveredBy, fromFieldsV1, leafFieldsV1, leafValues, toFieldsV1, type FieldPath, type FieldSet, type LeafValues } from './field-set';
export { applyMergePatch } from './merge-patch';
export { applyStrategicMergePatch, type StrategicMergeOptions } from './strategic-merge';
export { supportsStrategicMerge } from './patch-meta';
export { serverSideApply, type ManagedFieldsEntry, type ServerSideApplyOptions } from './server-side-apply';

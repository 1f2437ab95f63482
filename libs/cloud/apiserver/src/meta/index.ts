// Object model shared by every part of the API server: wire shapes, field access, time formats.
export {
  arrayAt,
  cloneJson,
  fieldAt,
  isRecord,
  jsonEqual,
  recordAt,
  stringAt,
  type KubeObject,
  type ManagedFieldsEntry,
  type ObjectMeta,
  type OwnerReference,
} from './kube-object';
export { formatMicroTimestamp, formatTimestamp, humanAge, humanDuration } from './time-format';

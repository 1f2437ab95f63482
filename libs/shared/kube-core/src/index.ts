// @kedge/kube-core: the Kubernetes knowledge both API servers (the cloud's embedded apiserver and the
// edge's MetaServer) and the controllers share: object types and JSON accessors, selectors, Status
// errors, server-side Tables and the watch stream writer. Pure TypeScript; no storage.
export type { KubeList, KubeObject, ListMeta, ManagedFieldsEntry, ObjectMeta, OwnerReference } from './objects/kube-object';
export { arrayAt, cloneJson, fieldAt, isRecord, jsonEqual, recordAt, stringAt } from './objects/json';
export { formatMicroTimestamp, formatTimestamp, humanAge, humanDuration } from './objects/time-format';
export {
  MAX_SELECTOR_LENGTH,
  SelectorParseError,
  labelSelectorRequirements,
  matchesLabels,
  parseLabelSelector,
  type LabelOperator,
  type LabelRequirement,
  type LabelSelector,
  type LabelSelectorRequirement,
} from './selectors/label-selector';
export { matchesFields, parseFieldSelector, pinnedFieldValue, type FieldRequirement } from './selectors/field-selector';
export { StatusError, isStatusError, successStatus, type Status, type StatusCause, type StatusDetails, type StatusReason } from './status/status-error';
export {
  STALE_OBJECT_MESSAGE,
  alreadyExists,
  badRequest,
  conflict,
  expired,
  forbidden,
  gone,
  internalError,
  invalid,
  methodNotAllowed,
  notAcceptable,
  notFound,
  pathNotFound,
  qualifiedResource,
  requestEntityTooLarge,
  serviceUnavailable,
  staleObject,
  tooOldResourceVersion,
  unauthorized,
  unsupportedMediaType,
  type ResourceRef,
} from './status/status-errors';
export { AGE_COLUMN, NAME_COLUMN, column, type TableColumn, type TableConverter } from './tables/table-converter';
export { buildTable, parseIncludeObject, type IncludeObject, type Table, type TableOptions, type TableRow } from './tables/table';
export { configMapTable, endpointsTable, eventTable, namespaceTable, secretTable, serviceAccountTable, serviceTable } from './tables/core-tables';
export { defaultTable, nodeTable, podTable } from './tables/pod-node-tables';
export { INITIAL_EVENTS_END_ANNOTATION, bookmarkObject, selectedEventType, type ChangeType, type WatchEvent, type WatchEventType } from './watch/watch-events';
export { WatchStreamWriter, watchEventLine, type WatchStreamOptions } from './watch/watch-stream-writer';
export {
  invalidOptions,
  parseGoBool,
  parseInt64,
  queryBoolean,
  queryInt64,
  queryPretty,
  queryString,
  type FieldError,
} from './query/query-values';
export { parseListOptions, type ListOptions, type ResourceVersionMatch } from './query/list-options';
export {
  FIELD_MANAGER_MAX_LENGTH,
  effectiveGracePeriod,
  parseDeleteOptionsQuery,
  parsePatchOptions,
  parseWriteOptions,
  validateDeleteOptions,
  type DeleteOptions,
  type FieldValidation,
  type PatchOptions,
  type PropagationPolicy,
  type WriteOptions,
} from './query/write-options';
export { parsePodLogOptions, type PodLogOptions } from './query/pod-log-options';
export { CronScheduleError, isKnownTimeZone, parseCronSchedule, type CronSchedule } from './schedules/cron-schedule';

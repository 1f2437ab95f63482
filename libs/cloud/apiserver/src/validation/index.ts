// Field validation shared by the API layer: typed FieldErrors, name syntax, ObjectMeta and the
// built-in kinds kubectl exercises.
export {
  ValidationError,
  describeValue,
  fieldDuplicate,
  fieldForbidden,
  fieldInvalid,
  fieldNotFound,
  fieldNotSupported,
  fieldRequired,
  fieldTooLong,
  fieldTypeInvalid,
  fieldWrongType,
  formatFieldError,
  formatInvalidMessage,
  jsonTypeName,
  newFieldError,
  pathChild,
  pathIndex,
  pathKey,
  toStatusCauses,
  type FieldError,
  type FieldErrorType,
  type StatusCause,
} from './field-error';
export {
  configMapKeyProblems,
  dns1035LabelProblems,
  dns1123LabelProblems,
  dns1123SubdomainProblems,
  isCIDR,
  isDns1035Label,
  isDns1123Label,
  isDns1123Subdomain,
  isIP,
  isQualifiedName,
  isValidLabelValue,
  labelValueProblems,
  qualifiedNameProblems,
} from './names';
export {
  TOTAL_ANNOTATION_SIZE_LIMIT,
  nameRuleForKind,
  validateAnnotations,
  validateLabels,
  validateObjectMeta,
  type NameRule,
  type ObjectMetaOptions,
} from './object-meta';
export { validateEphemeralContainersUpdate } from './ephemeral-containers';
export { BUILTIN_KIND_SCOPES, validateBuiltin, type BuiltinValidationOptions } from './builtin';
export { normalizeSecret } from './secret';
export { WORKLOAD_KINDS, isWorkloadKind, validateWorkload, type WorkloadKind } from './workloads';
export { validateControllerRevision, validateCronJob, validateJob, validateJobSpec } from './batch';
export { readLabelSelector, selectorMatches, type LabelSelector } from './workload-selector';
export { RBAC_GROUP, defaultSubjects, validateClusterRole, validateClusterRoleBinding, validateRole, validateRoleBinding } from './rbac';

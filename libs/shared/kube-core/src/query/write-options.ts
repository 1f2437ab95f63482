// Create, update, patch and delete options from the query string, decoded and validated as
// kube-apiserver's handlers do (metav1 validation: ValidateCreateOptions, ValidatePatchOptions,
// ValidateDeleteOptions): a bad value is a 422 Invalid naming the field, not a silent default.
import {
  forbiddenField,
  invalidField,
  invalidOptions,
  queryBoolean,
  queryInt64,
  quoted,
  requiredField,
  tooLongField,
  unsupportedField,
  type FieldError,
} from './query-values';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';
export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';

export interface WriteOptions {
  dryRun: boolean;
  /** as given; the server defaults it from the User-Agent when absent */
  fieldManager: string | undefined;
  /** Warn when not given, as upstream */
  fieldValidation: FieldValidation;
}

export interface PatchOptions extends WriteOptions {
  force: boolean | undefined;
}

export interface DeleteOptions {
  dryRun: boolean;
  gracePeriodSeconds: number | undefined;
  propagationPolicy: PropagationPolicy | undefined;
  orphanDependents: boolean | undefined;
}

export const FIELD_MANAGER_MAX_LENGTH = 128;
const utf8 = new TextEncoder();
const FIELD_VALIDATION_VALUES: readonly string[] = ['', 'Ignore', 'Strict', 'Warn'];
const PROPAGATION_POLICIES: readonly string[] = ['Foreground', 'Background', 'Orphan'];

/** The `dryRun` values and the errors ValidateDryRun gives for them (`All` is the only value). */
export function dryRunErrors(values: readonly string[]): FieldError[] {
  if (values.every((value) => value === 'All')) return [];
  // upstream prints the Go slice: []string{"Some"}
  return [unsupportedField('dryRun', `[]string{${values.map(quoted).join(', ')}}`, ['All'])];
}

export function fieldManagerErrors(fieldManager: string): FieldError[] {
  const errors: FieldError[] = [];
  if (utf8.encode(fieldManager).length > FIELD_MANAGER_MAX_LENGTH) errors.push(tooLongField('fieldManager', FIELD_MANAGER_MAX_LENGTH));
  let position = 0;
  for (const character of fieldManager) {
    // Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space
    if (!/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(character)) {
      const code = character.codePointAt(0) ?? 0;
      errors.push(invalidField('fieldManager', fieldManager, `invalid character U+${code.toString(16).toUpperCase().padStart(4, '0')} (at position ${position})`));
    }
    position += utf8.encode(character).length;
  }
  return errors;
}

function fieldValidationErrors(value: string): FieldError[] {
  return FIELD_VALIDATION_VALUES.includes(value) ? [] : [unsupportedField('fieldValidation', quoted(value), FIELD_VALIDATION_VALUES)];
}

function decodeWrite(query: URLSearchParams): { options: WriteOptions; errors: FieldError[] } {
  const dryRun = query.getAll('dryRun');
  const fieldManager = query.get('fieldManager') ?? '';
  const fieldValidation = query.get('fieldValidation') ?? '';
  const errors = [...fieldManagerErrors(fieldManager), ...dryRunErrors(dryRun), ...fieldValidationErrors(fieldValidation)];
  const options: WriteOptions = {
    dryRun: dryRun.length > 0,
    fieldManager: fieldManager === '' ? undefined : fieldManager,
    fieldValidation: fieldValidation === '' ? 'Warn' : (fieldValidation as FieldValidation),
  };
  return { options, errors };
}

/** @throws StatusError 422 Invalid `CreateOptions.meta.k8s.io` (or `UpdateOptions`) naming the field */
export function parseWriteOptions(query: URLSearchParams, kind: 'CreateOptions' | 'UpdateOptions'): WriteOptions {
  const { options, errors } = decodeWrite(query);
  if (errors.length > 0) throw invalidOptions(kind, errors);
  return options;
}

/**
 * `force` is for apply patches only, and an apply patch must name its field manager.
 * @throws StatusError 422 Invalid `PatchOptions.meta.k8s.io` naming the field
 */
export function parsePatchOptions(query: URLSearchParams, apply: boolean): PatchOptions {
  const { options, errors } = decodeWrite(query);
  const force = queryBoolean(query, 'force');
  if (!apply && force !== undefined) errors.unshift(forbiddenField('force', 'may not be specified for non-apply patch'));
  if (apply && options.fieldManager === undefined) errors.unshift(requiredField('fieldManager', 'is required for apply patch'));
  if (errors.length > 0) throw invalidOptions('PatchOptions', errors);
  return { ...options, force };
}

/**
 * Delete options from the query string. A DELETE may also carry DeleteOptions in its body; the
 * server merges the two and then calls validateDeleteOptions.
 * @throws StatusError 400 for a gracePeriodSeconds that is not an integer
 */
export function parseDeleteOptionsQuery(query: URLSearchParams): DeleteOptions & { dryRunValues: string[] } {
  const policy = query.get('propagationPolicy');
  const dryRunValues = query.getAll('dryRun');
  return {
    dryRun: dryRunValues.length > 0,
    dryRunValues,
    gracePeriodSeconds: queryInt64(query, 'gracePeriodSeconds'),
    propagationPolicy: policy === null ? undefined : (policy as PropagationPolicy),
    orphanDependents: queryBoolean(query, 'orphanDependents'),
  };
}

/** @throws StatusError 422 Invalid `DeleteOptions.meta.k8s.io` as ValidateDeleteOptions words it */
export function validateDeleteOptions(options: { propagationPolicy: string | undefined; orphanDependents: boolean | undefined; dryRunValues: readonly string[] }): void {
  const errors: FieldError[] = [];
  const { propagationPolicy: policy } = options;
  if (options.orphanDependents !== undefined && policy !== undefined) {
    errors.push(invalidField('propagationPolicy', policy, 'orphanDependents and deletionPropagation cannot be both set'));
  }
  if (policy !== undefined && !PROPAGATION_POLICIES.includes(policy)) {
    errors.push(unsupportedField('propagationPolicy', quoted(policy), [...PROPAGATION_POLICIES, 'nil']));
  }
  errors.push(...dryRunErrors(options.dryRunValues));
  if (errors.length > 0) throw invalidOptions('DeleteOptions', errors);
}

/**
 * A negative grace period means "1 second" on the delete path, as in kube-apiserver (rest.BeforeDelete).
 */
export function effectiveGracePeriod(seconds: number | undefined): number | undefined {
  return seconds !== undefined && seconds < 0 ? 1 : seconds;
}

// Field-level validation errors shaped like Kubernetes' field.Error so the API layer can return them
// unchanged as `details.causes` of a 422 Status (reason = type, message = ErrorBody, field = path).

/** Kubernetes' metav1.CauseType values for field errors (the subset this server produces). */
export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueTypeInvalid'
  | 'FieldValueDuplicate'
  | 'FieldValueTooLong'
  | 'FieldValueForbidden'
  | 'FieldValueNotFound';

export interface FieldError {
  /** dotted path with [index]/[key] segments, e.g. `spec.containers[0].image` */
  field: string;
  type: FieldErrorType;
  /** upstream ErrorBody, e.g. `Invalid value: "x": must be ...` (the field is not repeated) */
  message: string;
  value?: unknown;
}

/** One entry of a Status' `details.causes`. */
export interface StatusCause {
  reason: FieldErrorType;
  message: string;
  field: string;
}

const TYPE_TEXT: Record<FieldErrorType, string> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueTypeInvalid: 'Invalid value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueTooLong: 'Too long',
  FieldValueForbidden: 'Forbidden',
  FieldValueNotFound: 'Not found',
};

// Upstream omits the value from the message for these types.
const OMIT_VALUE = new Set<FieldErrorType>(['FieldValueRequired', 'FieldValueForbidden', 'FieldValueTooLong']);

/** Renders a value the way upstream's ErrorBody does: strings quoted, scalars bare, the rest as JSON. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  try {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 256 ? `${text.slice(0, 256)}...` : text;
  } catch {
    return String(typeof value);
  }
}

/** Builds a FieldError of any type; `detail` follows the type text and value, as upstream. */
export function newFieldError(type: FieldErrorType, field: string, value: unknown, detail = ''): FieldError {
  let message = TYPE_TEXT[type];
  if (!OMIT_VALUE.has(type)) message += `: ${describeValue(value)}`;
  if (detail) message += `: ${detail}`;
  const error: FieldError = { field, type, message };
  if (value !== undefined) error.value = value;
  return error;
}

export function fieldRequired(field: string, detail = ''): FieldError {
  return newFieldError('FieldValueRequired', field, undefined, detail);
}

export function fieldInvalid(field: string, value: unknown, detail: string): FieldError {
  return newFieldError('FieldValueInvalid', field, value, detail);
}

export function fieldNotSupported(field: string, value: unknown, supported: readonly string[]): FieldError {
  const list = supported.map((s) => JSON.stringify(s)).join(', ');
  return newFieldError('FieldValueNotSupported', field, value, supported.length ? `supported values: ${list}` : '');
}

export function fieldTypeInvalid(field: string, value: unknown, detail: string): FieldError {
  return newFieldError('FieldValueTypeInvalid', field, value, detail);
}

export function fieldDuplicate(field: string, value: unknown): FieldError {
  return newFieldError('FieldValueDuplicate', field, value);
}

export function fieldTooLong(field: string, value: unknown, max: number): FieldError {
  return newFieldError('FieldValueTooLong', field, value, `may not be more than ${max} ${max === 1 ? 'byte' : 'bytes'}`);
}

export function fieldNotFound(field: string, value: unknown): FieldError {
  return newFieldError('FieldValueNotFound', field, value);
}

export function fieldForbidden(field: string, detail: string): FieldError {
  return newFieldError('FieldValueForbidden', field, undefined, detail);
}

/** The JSON type name of a value as upstream reports it ("integer" for whole numbers). */
export function jsonTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'object') return 'object';
  return typeof value;
}

/** `spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"`. */
export function fieldWrongType(field: string, value: unknown, expected: string): FieldError {
  const actual = jsonTypeName(value);
  const error = fieldTypeInvalid(field, actual, `${field || '<root>'} in body must be of type ${expected}: ${JSON.stringify(actual)}`);
  return error;
}

// Path builders matching field.Path.String(): children dotted, indexes and map keys in brackets.
export function pathChild(parent: string, name: string): string {
  return parent ? `${parent}.${name}` : name;
}

export function pathIndex(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

export function pathKey(parent: string, key: string): string {
  return `${parent}[${key}]`;
}

/** `spec.containers[0].image: Required value`, as in a Status message. */
export function formatFieldError(error: FieldError): string {
  return error.field ? `${error.field}: ${error.message}` : error.message;
}

/** The Status message of a 422: `Pod "web" is invalid: <err>` or `... is invalid: [<err>, <err>]`. */
export function formatInvalidMessage(qualifiedKind: string, name: string, errors: readonly FieldError[]): string {
  const parts = errors.map(formatFieldError);
  const body = parts.length === 1 ? (parts[0] ?? '') : `[${parts.join(', ')}]`;
  return `${qualifiedKind} ${JSON.stringify(name)} is invalid: ${body}`;
}

export function toStatusCauses(errors: readonly FieldError[]): StatusCause[] {
  return errors.map((e) => ({ reason: e.type, message: e.message, field: e.field }));
}

/** Thrown (never returned) when a caller needs an exception for a list of field errors: maps to 422 Invalid. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  readonly status = 422;
  readonly reason = 'Invalid';
  constructor(
    readonly errors: readonly FieldError[],
    readonly qualifiedKind = 'object',
    readonly objectName = '',
  ) {
    super(formatInvalidMessage(qualifiedKind, objectName, errors));
  }
}

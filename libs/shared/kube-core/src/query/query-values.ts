// Single query parameters decoded as apimachinery's ParameterCodec decodes them (runtime's
// Convert_Slice_string_To_* and strconv), so a client other than kubectl means the same thing here as
// on a cluster. The first value of a repeated parameter wins, as url.Values.Get does.
import { badRequest, invalid } from '../status/status-errors';
import type { StatusCause, StatusError } from '../status/status-error';

/** A field error as apimachinery's `field.Error` words it; `invalid()` turns a list of them into a 422. */
export type FieldError = Required<Pick<StatusCause, 'reason' | 'message' | 'field'>>;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
// what a Status message quotes of a client's value: enough to recognise it, never a whole query string
const QUOTED_LENGTH = 80;

/** Go's %q of a string, shortened: what apimachinery's messages quote. */
export function quoted(value: string): string {
  return JSON.stringify(value.length > QUOTED_LENGTH ? `${value.slice(0, QUOTED_LENGTH)}...` : value);
}

/**
 * A boolean parameter: absent is undefined; `0` and `false` in any case are false; anything else,
 * the empty string included, is true (runtime.Convert_Slice_string_To_bool). So the Python client's
 * `watch=True` is a watch, as on kube-apiserver.
 */
export function queryBoolean(query: URLSearchParams, name: string): boolean | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  return !(value === '0' || value.toLowerCase() === 'false');
}

/**
 * Go's strconv.ParseBool, for the few parameters kube-apiserver reads with it (`pretty`):
 * undefined for anything it rejects.
 */
export function parseGoBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

/** `pretty`: kube-apiserver reads it with strconv.ParseBool and takes anything else as false. */
export function queryPretty(query: URLSearchParams): boolean {
  const value = query.get('pretty');
  return value !== null && parseGoBool(value) === true;
}

/** Go's strconv.ParseInt(value, 10, 64); the error text is Go's. */
export function parseInt64(value: string): { value: number } | { error: string } {
  if (!/^[+-]?\d+$/.test(value)) return { error: `strconv.ParseInt: parsing ${quoted(value)}: invalid syntax` };
  const big = BigInt(value);
  if (big < INT64_MIN || big > INT64_MAX) return { error: `strconv.ParseInt: parsing ${quoted(value)}: value out of range` };
  // beyond 2^53 a number is approximate, which no limit or timeout can tell apart
  return { value: Number(big) };
}

/**
 * An int64 parameter: absent is undefined; anything strconv.ParseInt rejects (the empty string too)
 * is a 400 BadRequest naming the parameter, as DecodeParameters' error is on kube-apiserver.
 */
export function queryInt64(query: URLSearchParams, name: string): number | undefined {
  const text = query.get(name);
  if (text === null) return undefined;
  const parsed = parseInt64(text);
  if ('error' in parsed) {
    throw badRequest(`invalid value for query parameter ${name}: ${parsed.error}`, [
      { reason: 'FieldValueInvalid', field: name, message: `Invalid value: ${quoted(text)}: must be an integer` },
    ]);
  }
  return parsed.value;
}

/** A string parameter ('' when absent, as the Go struct field would be). */
export function queryString(query: URLSearchParams, name: string): string {
  return query.get(name) ?? '';
}

export function forbiddenField(field: string, detail: string): FieldError {
  return { reason: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` };
}

export function requiredField(field: string, detail: string): FieldError {
  return { reason: 'FieldValueRequired', field, message: `Required value: ${detail}` };
}

export function invalidField(field: string, value: string | number, detail: string): FieldError {
  const shown = typeof value === 'number' ? String(value) : quoted(value);
  return { reason: 'FieldValueInvalid', field, message: `Invalid value: ${shown}: ${detail}` };
}

/** `supported` is listed sorted and quoted, as field.NotSupported does. */
export function unsupportedField(field: string, shownValue: string, supported: readonly string[]): FieldError {
  const list = supported.map((value) => JSON.stringify(value)).join(', ');
  return { reason: 'FieldValueNotSupported', field, message: `Unsupported value: ${shownValue}: supported values: ${list}` };
}

export function tooLongField(field: string, max: number): FieldError {
  return { reason: 'FieldValueTooLong', field, message: `Too long: may not be more than ${max} bytes` };
}

/** The 422 kube-apiserver answers for options that decoded but did not validate (`CreateOptions.meta.k8s.io "" is invalid: ...`). */
export function invalidOptions(kind: string, errors: readonly FieldError[]): StatusError {
  return invalid('meta.k8s.io', kind, '', [...errors]);
}

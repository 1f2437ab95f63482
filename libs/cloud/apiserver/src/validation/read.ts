// Typed readers for untrusted JSON: each returns the value when it has the expected type, and
// otherwise records a FieldValueTypeInvalid at the path and returns undefined, so validators never
// crash on `spec.containers: {}` and keep reporting the other errors.
import type { FieldError } from './field-error';
import { fieldRequired, fieldWrongType } from './field-error';
import { isRecord } from '@kedge/kube-core';
import type { JsonObject } from '../json';

/** Own property read: inherited names such as `constructor` are never mistaken for fields. */
export function own(obj: JsonObject, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

// null counts as absent, like omitted fields in Go's JSON decoding.
export function readObject(value: unknown, path: string, errs: FieldError[]): JsonObject | undefined {
  if (value === undefined || value === null) return undefined;
  if (isRecord(value)) return value;
  errs.push(fieldWrongType(path, value, 'object'));
  return undefined;
}

export function readArray(value: unknown, path: string, errs: FieldError[]): unknown[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value;
  errs.push(fieldWrongType(path, value, 'array'));
  return undefined;
}

export function readString(value: unknown, path: string, errs: FieldError[]): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  errs.push(fieldWrongType(path, value, 'string'));
  return undefined;
}

export function readInteger(value: unknown, path: string, errs: FieldError[]): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  errs.push(fieldWrongType(path, value, 'integer'));
  return undefined;
}

export function readBoolean(value: unknown, path: string, errs: FieldError[]): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  errs.push(fieldWrongType(path, value, 'boolean'));
  return undefined;
}

/** A map of strings (labels, selectors, data): non-string values are reported per key. */
export function readStringMap(value: unknown, path: string, errs: FieldError[]): Map<string, string> {
  const out = new Map<string, string>();
  const obj = readObject(value, path, errs);
  if (!obj) return out;
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v === 'string') out.set(k, v);
    else if (v !== null) errs.push(fieldWrongType(`${path}[${k}]`, v, 'string'));
  }
  return out;
}

/** A required non-empty string: missing/empty → Required, wrong type → TypeInvalid only. */
export function readRequiredString(obj: JsonObject, key: string, path: string, errs: FieldError[]): string | undefined {
  const value = own(obj, key);
  const s = readString(value, path, errs);
  if (s === undefined && (value === undefined || value === null)) errs.push(fieldRequired(path));
  else if (s === '') errs.push(fieldRequired(path));
  return s || undefined;
}

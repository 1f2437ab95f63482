// Validation of an object against a compiled structural schema, with kube-openapi's wording:
// `spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"`.
import { isRecord } from '@kedge/kube-core';
import type { FieldError } from '../validation/index';
import {
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  fieldWrongType,
  newFieldError,
  pathChild,
  pathIndex,
} from '../validation/index';
import { matchesFormat } from './formats';
import type { JsonObject } from '../json';
import { MAX_DEPTH, deepEqual, hasOwn } from '../json';
import type { SchemaNode } from './node';

/** Fields every object has at its root whatever the schema says (the API layer checks metadata). */
export const ROOT_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case 'object':
      return isRecord(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    default:
      return true;
  }
}

const inBody = (path: string) => `${path || '<root>'} in body`;

function enumText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
}

export function validateValue(node: SchemaNode, value: unknown, path: string, errs: FieldError[], depth: number, root = false): void {
  if (depth > MAX_DEPTH) {
    errs.push(fieldInvalid(path, '<nested>', `nesting deeper than ${MAX_DEPTH} levels is not allowed`));
    return;
  }
  if (value === null) {
    if (!node.nullable && (node.type !== undefined || node.intOrString)) errs.push(fieldWrongType(path, value, node.intOrString ? 'integer,string' : (node.type ?? '')));
    return;
  }
  if (node.intOrString) {
    if (!(typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)))) {
      errs.push(fieldWrongType(path, value, 'integer,string'));
      return;
    }
  } else if (node.type !== undefined && !typeMatches(node.type, value)) {
    errs.push(fieldWrongType(path, value, node.type));
    return;
  }
  if (node.enum && !node.enum.some((e) => deepEqual(e, value))) errs.push(fieldNotSupported(path, value, node.enum.map(enumText)));
  if (node.format && !matchesFormat(node.format, value))
    errs.push(fieldInvalid(path, value, `${inBody(path)} must be of type ${node.format}: ${JSON.stringify(enumText(value))}`));

  if (typeof value === 'number') validateNumber(node, value, path, errs);
  else if (typeof value === 'string') validateString(node, value, path, errs);
  else if (Array.isArray(value)) validateArray(node, value, path, errs, depth);
  else if (isRecord(value)) validateObject(node, value, path, errs, depth, root);

  for (const sub of node.allOf) validateValue(sub, value, path, errs, depth + 1);
  const passes = (sub: SchemaNode) => {
    const tmp: FieldError[] = [];
    validateValue(sub, value, path, tmp, depth + 1);
    return tmp.length === 0;
  };
  if (node.anyOf.length > 0 && !node.anyOf.some(passes))
    errs.push(fieldInvalid(path, value, `${inBody(path)} must validate at least one schema (anyOf)`));
  if (node.oneOf.length > 0) {
    const n = node.oneOf.filter(passes).length;
    if (n !== 1) errs.push(fieldInvalid(path, value, `${inBody(path)} must validate one and only one schema (oneOf). Found ${n} valid alternatives`));
  }
  if (node.not && passes(node.not)) errs.push(fieldInvalid(path, value, `${inBody(path)} must not validate the schema (not)`));
}

function validateNumber(node: SchemaNode, v: number, path: string, errs: FieldError[]): void {
  if (node.maximum !== undefined && (node.exclusiveMaximum ? v >= node.maximum : v > node.maximum))
    errs.push(fieldInvalid(path, v, `${inBody(path)} should be less than ${node.exclusiveMaximum ? '' : 'or equal to '}${node.maximum}`));
  if (node.minimum !== undefined && (node.exclusiveMinimum ? v <= node.minimum : v < node.minimum))
    errs.push(fieldInvalid(path, v, `${inBody(path)} should be greater than ${node.exclusiveMinimum ? '' : 'or equal to '}${node.minimum}`));
  if (node.multipleOf !== undefined) {
    const q = v / node.multipleOf;
    if (Math.abs(q - Math.round(q)) > 1e-9) errs.push(fieldInvalid(path, v, `${inBody(path)} should be a multiple of ${node.multipleOf}`));
  }
}

function validateString(node: SchemaNode, v: string, path: string, errs: FieldError[]): void {
  // Upstream counts runes (code points), not UTF-16 units.
  const length = [...v].length;
  if (node.maxLength !== undefined && length > node.maxLength) {
    errs.push(newFieldError('FieldValueTooLong', path, v, `may not be more than ${node.maxLength} bytes`));
  }
  if (node.minLength !== undefined && length < node.minLength)
    errs.push(fieldInvalid(path, v, `${inBody(path)} should be at least ${node.minLength} chars long`));
  if (node.pattern && !node.pattern.re.test(v)) errs.push(fieldInvalid(path, v, `${inBody(path)} should match '${node.pattern.source}'`));
}

function validateArray(node: SchemaNode, v: unknown[], path: string, errs: FieldError[], depth: number): void {
  // There is no FieldValueTooMany among our cause types: TooLong carries upstream's "Too many" text.
  if (node.maxItems !== undefined && v.length > node.maxItems)
    errs.push({ field: path, type: 'FieldValueTooLong', message: `Too many: ${v.length}: must have at most ${node.maxItems} items`, value: v.length });
  if (node.minItems !== undefined && v.length < node.minItems)
    errs.push(fieldInvalid(path, v.length, `${inBody(path)} should have at least ${node.minItems} items`));
  if (node.items) v.forEach((item, i) => validateValue(node.items as SchemaNode, item, pathIndex(path, i), errs, depth + 1));
  if (node.listType === 'set' || node.listType === 'map') {
    const keyOf = (item: unknown): string => {
      if (node.listType === 'map' && isRecord(item)) return JSON.stringify((node.listMapKeys ?? []).map((k) => (hasOwn(item, k) ? item[k] : null)));
      return JSON.stringify(item) ?? '';
    };
    const seen = new Set<string>();
    v.forEach((item, i) => {
      const key = keyOf(item);
      if (seen.has(key)) errs.push(newFieldError('FieldValueDuplicate', pathIndex(path, i), item));
      seen.add(key);
    });
  }
}

function validateObject(node: SchemaNode, v: JsonObject, path: string, errs: FieldError[], depth: number, root: boolean): void {
  const keys = Object.keys(v);
  if (node.maxProperties !== undefined && keys.length > node.maxProperties)
    errs.push(fieldInvalid(path, keys.length, `${inBody(path)} should have at most ${node.maxProperties} properties`));
  if (node.minProperties !== undefined && keys.length < node.minProperties)
    errs.push(fieldInvalid(path, keys.length, `${inBody(path)} should have at least ${node.minProperties} properties`));
  for (const name of node.required) if (!hasOwn(v, name)) errs.push(fieldRequired(pathChild(path, name)));
  if (node.embeddedResource) {
    for (const f of ['apiVersion', 'kind']) {
      const value = hasOwn(v, f) ? v[f] : undefined;
      if (typeof value !== 'string' || value === '') errs.push(fieldRequired(pathChild(path, f), 'must not be empty'));
    }
    if (hasOwn(v, 'metadata') && v['metadata'] !== null && !isRecord(v['metadata']))
      errs.push(fieldWrongType(pathChild(path, 'metadata'), v['metadata'], 'object'));
  }
  for (const key of keys) {
    const child = pathChild(path, key);
    const value = v[key];
    if (root && ROOT_FIELDS.has(key)) {
      if (key === 'metadata' ? value !== null && !isRecord(value) : typeof value !== 'string')
        errs.push(fieldWrongType(child, value, key === 'metadata' ? 'object' : 'string'));
      if (key !== 'metadata' && node.properties?.has(key)) validateValue(node.properties.get(key) as SchemaNode, value, child, errs, depth + 1);
      continue;
    }
    const prop = node.properties?.get(key);
    if (prop) validateValue(prop, value, child, errs, depth + 1);
    else if (typeof node.additionalProperties === 'object') validateValue(node.additionalProperties, value, child, errs, depth + 1);
    else if (node.additionalProperties === false && !(node.embeddedResource && ROOT_FIELDS.has(key)))
      errs.push(fieldForbidden(child, `${inBody(child)} is a forbidden property`));
  }
}

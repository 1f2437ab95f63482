// JSON helpers of the patch engines: JSON pointers, a depth guard, a copy that refuses documents
// too deep to patch, and identities for list items.
import { isRecord } from '@kedge/kube-core';
import { PatchError } from './errors';
import { MAX_DEPTH, setOwn, type JsonObject } from '../json';

export function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function childPointer(parent: string, key: string | number): string {
  return `${parent}/${typeof key === 'number' ? key : escapePointer(key)}`;
}

export function checkDepth(depth: number, path: string): void {
  if (depth > MAX_DEPTH) throw new PatchError('CANNOT_APPLY', path, `document nested deeper than ${MAX_DEPTH} levels at ${path || '/'}`);
}

/** Deep copy of JSON data (own enumerable properties only, `__proto__` kept as data). */
export function cloneJson<T>(value: T, depth = 0): T {
  if (depth > MAX_DEPTH) throw new PatchError('CANNOT_APPLY', '', `document nested deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) return value.map((v) => cloneJson(v, depth + 1)) as T;
  if (isRecord(value)) {
    const out: JsonObject = {};
    for (const k of Object.keys(value)) setOwn(out, k, cloneJson(value[k], depth + 1));
    return out as T;
  }
  return value;
}

/** A stable identity string for list-item comparison (merge keys, set members). */
export function identity(value: unknown): string {
  try {
    return JSON.stringify(sortKeys(value)) ?? 'undefined';
  } catch {
    return String(value);
  }
}

function sortKeys(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return null;
  if (Array.isArray(value)) return value.map((v) => sortKeys(v, depth + 1));
  if (isRecord(value)) {
    const out: JsonObject = {};
    for (const k of Object.keys(value).sort()) setOwn(out, k, sortKeys(value[k], depth + 1));
    return out;
  }
  return value;
}

// JSON helpers shared by the patch engines: own-property access that cannot touch prototypes
// (patches may carry `__proto__` keys), structural equality and a depth guard.
import { PatchError } from './errors';

export type JsonObject = Record<string, unknown>;

/** Deeper documents are refused rather than risking a stack overflow. */
export const MAX_DEPTH = 256;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function hasOwn(obj: JsonObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

export function getOwn(obj: JsonObject, key: string): unknown {
  return hasOwn(obj, key) ? obj[key] : undefined;
}

/** Assignment that defines an own data property even for `__proto__`. */
export function setOwn(obj: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

export function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function childPointer(parent: string, key: string | number): string {
  return `${parent}/${typeof key === 'number' ? key : escapePointer(key)}`;
}

export function checkDepth(depth: number, path: string): void {
  if (depth > MAX_DEPTH) throw new PatchError('CANNOT_APPLY', path, `document nested deeper than ${MAX_DEPTH} levels at ${path || '/'}`);
}

export function deepEqual(a: unknown, b: unknown, depth = 0): boolean {
  if (a === b) return true;
  if (depth > MAX_DEPTH) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => deepEqual(v, b[i], depth + 1));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => hasOwn(b, k) && deepEqual(a[k], b[k], depth + 1));
  }
  return false;
}

/** Deep copy of JSON data (own enumerable properties only, `__proto__` kept as data). */
export function cloneJson<T>(value: T, depth = 0): T {
  if (depth > MAX_DEPTH) throw new PatchError('CANNOT_APPLY', '', `document nested deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) return value.map((v) => cloneJson(v, depth + 1)) as T;
  if (isObject(value)) {
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
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const k of Object.keys(value).sort()) setOwn(out, k, sortKeys(value[k], depth + 1));
    return out;
  }
  return value;
}

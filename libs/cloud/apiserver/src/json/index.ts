// JSON helpers every apiserver module that walks user documents needs: own-property access that
// cannot reach prototypes (documents may carry `__proto__` keys), and bounded structural equality
// (kube-core's jsonEqual is unbounded and ignores undefined members; user documents need neither).
import { isRecord } from '@kedge/kube-core';

export type JsonObject = Record<string, unknown>;

/** Documents nested deeper than this are not walked (prevents stack overflows). */
export const MAX_DEPTH = 256;

export function hasOwn(obj: JsonObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

export function getOwn(obj: JsonObject, key: string): unknown {
  return hasOwn(obj, key) ? obj[key] : undefined;
}

/** Assignment that defines an own data property even for `__proto__`. */
export function setOwn(obj: JsonObject, key: string, value: unknown): void {
  // only `__proto__` is an accessor on a plain object's prototype chain; a plain store is several
  // times cheaper than defineProperty for every other key
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** Structural equality; documents deeper than MAX_DEPTH compare unequal. */
export function deepEqual(a: unknown, b: unknown, depth = 0): boolean {
  if (a === b) return true;
  if (depth > MAX_DEPTH) return false;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i], depth + 1));
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => hasOwn(b, k) && deepEqual(a[k], b[k], depth + 1));
  }
  return false;
}

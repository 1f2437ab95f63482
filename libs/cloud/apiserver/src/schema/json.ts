// Deep copy for the schema walkers: values nested beyond MAX_DEPTH are shared rather than copied,
// since validation has already reported them.
import { isRecord } from '@kedge/kube-core';
import { MAX_DEPTH, setOwn, type JsonObject } from '../json';

/** Deep copy of JSON data; values nested beyond MAX_DEPTH are shared rather than copied. */
export function cloneJson<T>(value: T, depth = 0): T {
  if (depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((v) => cloneJson(v, depth + 1)) as T;
  if (isRecord(value)) {
    const out: JsonObject = {};
    for (const k of Object.keys(value)) setOwn(out, k, cloneJson(value[k], depth + 1));
    return out as T;
  }
  return value;
}

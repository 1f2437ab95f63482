// Guards and accessors for Kubernetes objects held as plain JSON: a record check, reads along a path
// that never throw on a missing step, and deep copy and equality of JSON values.

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at a dotted path (`spec.nodeName`), or undefined when any step is missing. */
export function fieldAt(object: unknown, path: readonly string[]): unknown {
  let current: unknown = object;
  for (const step of path) {
    if (!isRecord(current)) return undefined;
    current = current[step];
  }
  return current;
}

export function stringAt(object: unknown, path: readonly string[]): string | undefined {
  const value = fieldAt(object, path);
  return typeof value === 'string' ? value : undefined;
}

export function recordAt(object: unknown, path: readonly string[]): Record<string, unknown> | undefined {
  const value = fieldAt(object, path);
  return isRecord(value) ? value : undefined;
}

export function arrayAt(object: unknown, path: readonly string[]): unknown[] {
  const value = fieldAt(object, path);
  return Array.isArray(value) ? value : [];
}

/** Deep copy of a JSON value; objects here never hold anything JSON cannot carry. */
export function cloneJson<T>(value: T): T {
  return structuredClone(value);
}

/** Structural equality of two JSON values, ignoring key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, index) => jsonEqual(item, b[index]));
  }
  if (isRecord(a) && isRecord(b)) {
    const aKeys = Object.keys(a).filter((key) => a[key] !== undefined);
    const bKeys = Object.keys(b).filter((key) => b[key] !== undefined);
    return aKeys.length === bKeys.length && aKeys.every((key) => jsonEqual(a[key], b[key]));
  }
  return false;
}

// Sets of field paths in the FieldsV1 notation of structured-merge-diff: `f:<field>` for map keys,
// `k:{"name":"web"}` for items of a list keyed by a field, `v:<json>` for items of a set of scalars,
// and `.` for "the item itself". A set is held flat (one string per leaf path) and converted to and
// from the nested FieldsV1 object that managedFields carry.
import { isRecord } from '@kedge/kube-core';

const SEPARATOR = '\u0000';

/** Leaf path → JSON of its value: enough to tell which leaves an update changed. */
export type LeafValues = Map<string, string>;

/** List items are keyed by `name` when they all have one; scalar lists are sets; other lists are atomic. */
function listKeyField(items: readonly unknown[]): string | undefined {
  if (items.length === 0) return undefined;
  for (const field of ['name', 'uid', 'type', 'mountPath', 'containerPort', 'port']) {
    const keys = items.map((item) => (isRecord(item) ? item[field] : undefined));
    if (keys.every((key) => typeof key === 'string' || typeof key === 'number') && new Set(keys).size === keys.length) return field;
  }
  return undefined;
}

function isScalar(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function collect(value: unknown, path: string[], out: LeafValues): void {
  if (isRecord(value)) {
    const keys = Object.keys(value).filter((key) => value[key] !== undefined);
    if (keys.length === 0) {
      out.set(path.join(SEPARATOR), '{}');
      return;
    }
    for (const key of keys) collect(value[key], [...path, `f:${key}`], out);
    return;
  }
  if (Array.isArray(value)) {
    const keyField = listKeyField(value);
    if (keyField !== undefined) {
      for (const item of value as Record<string, unknown>[]) {
        const itemPath = [...path, `k:${JSON.stringify({ [keyField]: item[keyField] })}`];
        out.set([...itemPath, '.'].join(SEPARATOR), '');
        collect(item, itemPath, out);
      }
      return;
    }
    if (value.length > 0 && value.every(isScalar) && new Set(value.map((item) => JSON.stringify(item))).size === value.length) {
      for (const item of value) out.set([...path, `v:${JSON.stringify(item)}`].join(SEPARATOR), '');
      return;
    }
  }
  out.set(path.join(SEPARATOR), JSON.stringify(value));
}

/** The tracked leaves of an object: everything but apiVersion, kind and the server-owned metadata. */
export function leafValues(object: Record<string, unknown>, only?: 'status'): LeafValues {
  const out: LeafValues = new Map();
  for (const [key, value] of Object.entries(object)) {
    if (key === 'apiVersion' || key === 'kind' || value === undefined) continue;
    if (only === 'status' && key !== 'status') continue;
    if (key === 'metadata' && isRecord(value)) {
      for (const field of ['labels', 'annotations', 'finalizers', 'ownerReferences']) {
        if (value[field] !== undefined) collect(value[field], ['f:metadata', `f:${field}`], out);
      }
      continue;
    }
    collect(value, [`f:${key}`], out);
  }
  return out;
}

export function fieldsV1FromPaths(paths: Iterable<string>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const path of paths) {
    let node = root;
    for (const step of path.split(SEPARATOR)) {
      const child = node[step];
      if (isRecord(child)) node = child;
      else {
        const created: Record<string, unknown> = {};
        node[step] = created;
        node = created;
      }
    }
  }
  return root;
}

export function pathsFromFieldsV1(fields: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (node: unknown, path: string[]): void => {
    if (!isRecord(node)) return;
    const keys = Object.keys(node);
    if (keys.length === 0 && path.length > 0) out.add(path.join(SEPARATOR));
    for (const key of keys) walk(node[key], [...path, key]);
  };
  walk(fields, []);
  return out;
}

/** Whether `path` or one of its ancestors is in `paths` (owning a map owns what is inside it). */
export function coveredBy(path: string, paths: ReadonlySet<string>): boolean {
  if (paths.has(path)) return true;
  const steps = path.split(SEPARATOR);
  for (let length = steps.length - 1; length > 0; length--) {
    if (paths.has(steps.slice(0, length).join(SEPARATOR))) return true;
  }
  return false;
}

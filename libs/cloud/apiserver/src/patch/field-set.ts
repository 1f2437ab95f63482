// Field sets in the FieldsV1 vocabulary of structured-merge-diff, the one notation managedFields carry:
// `f:<field>`, `k:<merge key JSON>` for items of keyed lists, `v:<value JSON>` for members of primitive
// sets. A set is a map from a path's string form to its elements; `.` in FieldsV1 marks a node that is
// itself a member. Two collectors fill sets: collectFieldSet for server-side apply (list keys from the
// patch metadata) and leafValues for other writes (list keys guessed), so both kinds of managedFields
// entries read and write the same sets.
import { isRecord } from '@kedge/kube-core';
import type { JsonObject } from '../json';
import { MAX_DEPTH, deepEqual, getOwn, hasOwn, setOwn } from '../json';
import type { FieldMeta, PatchMeta } from './patch-meta';

export type FieldPath = readonly string[];
export type FieldSet = Map<string, FieldPath>;

export function pathKey(path: FieldPath): string {
  return JSON.stringify(path);
}

// Identity and server-maintained fields upstream never records as owned.
const ROOT_IGNORED = new Set(['apiVersion', 'kind']);
const META_IGNORED = new Set([
  'name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields',
  'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds',
]);

function metaOf(meta: PatchMeta | undefined, key: string): FieldMeta | undefined {
  return meta && Object.prototype.hasOwnProperty.call(meta, key) ? meta[key] : undefined;
}

function add(set: FieldSet, path: FieldPath): void {
  set.set(pathKey(path), path);
}

function collectObject(obj: JsonObject, meta: PatchMeta | undefined, path: FieldPath, set: FieldSet, depth: number): void {
  if (depth > MAX_DEPTH) return;
  const ignored = path.length === 0 ? ROOT_IGNORED : path.length === 1 && path[0] === 'f:metadata' ? META_IGNORED : undefined;
  const keys = Object.keys(obj).filter((k) => !ignored?.has(k) && obj[k] !== null);
  if (keys.length === 0 && Object.keys(obj).length === 0 && path.length > 0) add(set, path);
  for (const k of keys) collectValue(obj[k], metaOf(meta, k), [...path, `f:${k}`], set, depth + 1);
}

function collectValue(value: unknown, fm: FieldMeta | undefined, path: FieldPath, set: FieldSet, depth: number): void {
  if (isRecord(value)) return collectObject(value, fm?.fields, path, set, depth);
  if (!Array.isArray(value) || fm?.strategy !== 'merge' || value.length === 0) return add(set, path);
  const mk = fm.mergeKey;
  if (mk !== undefined && value.every((item) => isRecord(item) && hasOwn(item, mk))) {
    for (const item of value as JsonObject[]) {
      const itemPath = [...path, `k:${JSON.stringify({ [mk]: item[mk] })}`];
      add(set, itemPath);
      collectObject(item, fm.fields, itemPath, set, depth + 1);
    }
  } else if (mk === undefined && value.every((item) => typeof item !== 'object' || item === null)) {
    for (const item of value) add(set, [...path, `v:${JSON.stringify(item)}`]);
  } else {
    add(set, path);
  }
}

/** Whether `path` or one of its ancestors is in `keys` (owning a map owns what is inside it). */
export function coveredBy(path: FieldPath, keys: ReadonlySet<string>): boolean {
  for (let length = path.length; length > 0; length--) {
    if (keys.has(pathKey(path.slice(0, length)))) return true;
  }
  return false;
}

/** A leaf's path and the JSON of its value: enough to tell which leaves an update changed. */
export type LeafValues = Map<string, { path: FieldPath; value: string }>;

/** Without patch metadata, list items are keyed by `name` (or the like) when all have a distinct one. */
function guessedListKey(items: readonly unknown[]): string | undefined {
  for (const field of ['name', 'uid', 'type', 'mountPath', 'containerPort', 'port']) {
    const keys = items.map((item) => (isRecord(item) ? item[field] : undefined));
    if (keys.every((key) => typeof key === 'string' || typeof key === 'number') && new Set(keys).size === keys.length) return field;
  }
  return undefined;
}

/** Called for each tracked leaf; `value` is the leaf's JSON, or '' for list items and set members. */
type LeafVisitor = (path: FieldPath, value: () => string) => void;

const EMPTY_OBJECT_JSON = (): string => '{}';
const MEMBER = (): string => '';

function collectLeaves(value: unknown, path: FieldPath, visit: LeafVisitor, depth: number): void {
  if (depth > MAX_DEPTH) return visit(path, () => JSON.stringify(value));
  if (isRecord(value)) {
    const keys = Object.keys(value).filter((key) => value[key] !== undefined);
    if (keys.length === 0) return visit(path, EMPTY_OBJECT_JSON);
    for (const key of keys) collectLeaves(value[key], [...path, `f:${key}`], visit, depth + 1);
    return;
  }
  if (Array.isArray(value) && value.length > 0) {
    const keyField = guessedListKey(value);
    if (keyField !== undefined) {
      for (const item of value as JsonObject[]) {
        const itemPath = [...path, `k:${JSON.stringify({ [keyField]: item[keyField] })}`];
        visit(itemPath, MEMBER);
        collectLeaves(item, itemPath, visit, depth + 1);
      }
      return;
    }
    if (value.every((item) => typeof item !== 'object' || item === null) && new Set(value.map((item) => JSON.stringify(item))).size === value.length) {
      for (const item of value) visit([...path, `v:${JSON.stringify(item)}`], MEMBER);
      return;
    }
  }
  visit(path, () => JSON.stringify(value));
}

function visitTrackedLeaves(object: JsonObject, only: 'status' | undefined, visit: LeafVisitor): void {
  for (const [key, value] of Object.entries(object)) {
    if (key === 'apiVersion' || key === 'kind' || value === undefined) continue;
    if (only === 'status' && key !== 'status') continue;
    if (key === 'metadata' && isRecord(value)) {
      for (const field of ['labels', 'annotations', 'finalizers', 'ownerReferences']) {
        if (value[field] !== undefined) collectLeaves(value[field], ['f:metadata', `f:${field}`], visit, 2);
      }
      continue;
    }
    collectLeaves(value, [`f:${key}`], visit, 1);
  }
}

/** The tracked leaves of an object for an Update entry: everything but apiVersion, kind and the server-owned metadata. */
export function leafValues(object: JsonObject, only?: 'status'): LeafValues {
  const out: LeafValues = new Map();
  visitTrackedLeaves(object, only, (path, value) => void out.set(pathKey(path), { path, value: value() }));
  return out;
}

/**
 * The FieldsV1 of every tracked leaf of an object, and how many leaves it has: what a create's
 * managedFields entry holds. Equal to `toFieldsV1` of `leafValues`' paths, without the set in between.
 */
export function leafFieldsV1(object: JsonObject, only?: 'status'): { fieldsV1: JsonObject; leaves: number } {
  const paths: FieldPath[] = [];
  visitTrackedLeaves(object, only, (path) => void paths.push(path));
  return { fieldsV1: fieldsV1Of(paths), leaves: paths.length };
}

/** The fields an apply configuration sets. */
export function collectFieldSet(applied: JsonObject, meta: PatchMeta): FieldSet {
  const set: FieldSet = new Map();
  collectObject(applied, meta, [], set, 0);
  return set;
}

export function toFieldsV1(set: FieldSet): JsonObject {
  return fieldsV1Of([...set.values()]);
}

function fieldsV1Of(paths: readonly FieldPath[]): JsonObject {
  const root: JsonObject = {};
  const nodeOf = (path: FieldPath): JsonObject => {
    let node = root;
    for (const el of path) {
      const next = getOwn(node, el);
      if (isRecord(next)) {
        node = next;
        continue;
      }
      const child: JsonObject = {};
      setOwn(node, el, child);
      node = child;
    }
    return node;
  };
  const nodes = paths.map(nodeOf);
  // a listed path that also has children gets its own '.' mark, after the children
  for (const node of nodes) {
    if (!hasOwn(node, '.') && Object.keys(node).length > 0) setOwn(node, '.', {});
  }
  return root;
}

/** Parses FieldsV1; anything malformed is skipped (managedFields are server-written). */
export function fromFieldsV1(fields: unknown): FieldSet {
  const set: FieldSet = new Map();
  const walk = (node: unknown, path: string[], depth: number): void => {
    if (!isRecord(node) || depth > MAX_DEPTH) return;
    for (const key of Object.keys(node)) {
      if (key === '.') {
        if (path.length > 0) add(set, path);
        continue;
      }
      if (!/^[fkvi]:/.test(key)) continue;
      const child = node[key];
      if (isRecord(child) && Object.keys(child).length === 0) add(set, [...path, key]);
      else walk(child, [...path, key], depth + 1);
    }
  };
  walk(fields, [], 0);
  return set;
}

function parseElement(el: string): { kind: string; arg: unknown } | undefined {
  const kind = el.slice(0, 2);
  if (kind === 'f:') return { kind, arg: el.slice(2) };
  try {
    return { kind, arg: JSON.parse(el.slice(2)) };
  } catch {
    return undefined;
  }
}

function matchesKey(item: unknown, key: unknown): boolean {
  return isRecord(item) && isRecord(key) && Object.keys(key).every((k) => hasOwn(item, k) && deepEqual(item[k], key[k]));
}

type Found = { found: true; value: unknown } | { found: false };

function step(cur: unknown, el: string): Found {
  const p = parseElement(el);
  if (!p) return { found: false };
  if (p.kind === 'f:' && isRecord(cur) && hasOwn(cur, p.arg as string)) return { found: true, value: cur[p.arg as string] };
  if (p.kind === 'k:' && Array.isArray(cur)) {
    const item = cur.find((i) => matchesKey(i, p.arg));
    return item === undefined ? { found: false } : { found: true, value: item };
  }
  if (p.kind === 'v:' && Array.isArray(cur) && cur.some((i) => deepEqual(i, p.arg))) return { found: true, value: p.arg };
  if (p.kind === 'i:' && Array.isArray(cur) && typeof p.arg === 'number' && p.arg < cur.length) return { found: true, value: cur[p.arg] };
  return { found: false };
}

export function getAt(obj: unknown, path: FieldPath): Found {
  let cur: Found = { found: true, value: obj };
  for (const el of path) {
    if (!cur.found) return cur;
    cur = step(cur.value, el);
  }
  return cur;
}

/** Removes the field or list member at `path` in place; missing paths are ignored. */
export function removeAt(obj: JsonObject, path: FieldPath): void {
  const last = path[path.length - 1];
  const parent = getAt(obj, path.slice(0, -1));
  if (last === undefined || !parent.found) return;
  const p = parseElement(last);
  const container = parent.value;
  if (!p) return;
  if (p.kind === 'f:' && isRecord(container)) delete container[p.arg as string];
  else if (Array.isArray(container)) {
    const keep = (item: unknown, i: number) =>
      p.kind === 'k:' ? !matchesKey(item, p.arg) : p.kind === 'v:' ? !deepEqual(item, p.arg) : i !== p.arg;
    const filtered = container.filter(keep);
    container.splice(0, container.length, ...filtered);
  }
}

/** Upstream's path notation for conflicts: `.spec.containers[name="web"].image`. */
export function formatFieldPath(path: FieldPath): string {
  return path
    .map((el) => {
      const p = parseElement(el);
      if (!p) return el;
      if (p.kind === 'f:') return `.${p.arg as string}`;
      if (p.kind === 'k:' && isRecord(p.arg))
        return `[${Object.entries(p.arg).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
      if (p.kind === 'v:') return `[=${JSON.stringify(p.arg)}]`;
      return `[${String(p.arg)}]`;
    })
    .join('');
}

// Strategic merge patch (`application/strategic-merge-patch+json`), after apimachinery's
// strategicpatch.StrategicMergeMapPatch: maps merge, lists with a merge key merge item by item,
// primitive lists tagged `merge` merge as sets, other lists are replaced. Directives: `$patch`
// (replace/delete/merge) on maps and list items, `$retainKeys`, `$setElementOrder/<list>` and
// `$deleteFromPrimitiveList/<list>`. The same engine, with directives off, merges apply configs.
import { cloneJson, isRecord } from '@kedge/kube-core';
import { PatchError } from './errors';
import type { JsonObject } from '../json';
import { deepEqual, getOwn, hasOwn, setOwn } from '../json';
import { checkDepth, childPointer, identity } from './json';
import type { FieldMeta, PatchMeta } from './patch-meta';
import { GENERIC_META, patchMetaForKind } from './patch-meta';

const DELETE = Symbol('delete');
type Merged = unknown | typeof DELETE;

interface Ctx {
  /** false for server-side apply: `$`-keys are plain data there */
  directives: boolean;
}

const SET_ORDER = '$setElementOrder/';
const DELETE_FROM = '$deleteFromPrimitiveList/';

function isDirectiveKey(key: string): boolean {
  return key === '$patch' || key === '$retainKeys' || key.startsWith(SET_ORDER) || key.startsWith(DELETE_FROM);
}

function metaOf(meta: PatchMeta | undefined, key: string): FieldMeta | undefined {
  return meta && Object.prototype.hasOwnProperty.call(meta, key) ? meta[key] : undefined;
}

function bad(path: string, message: string): PatchError {
  return new PatchError('INVALID_PATCH', path, `strategic merge patch: ${message} at ${path || '/'}`);
}

/** Merges `patch` into `orig` (a private copy, mutated) and returns it, or DELETE. */
function mergeMap(orig: JsonObject, patch: JsonObject, meta: PatchMeta | undefined, path: string, depth: number, ctx: Ctx): JsonObject | typeof DELETE {
  checkDepth(depth, path);
  const orders = new Map<string, unknown[]>();
  if (ctx.directives) {
    if (hasOwn(patch, '$patch')) {
      const directive = patch['$patch'];
      if (directive === 'delete') return DELETE;
      if (directive === 'replace') {
        const rest: JsonObject = {};
        for (const k of Object.keys(patch)) if (k !== '$patch') setOwn(rest, k, patch[k]);
        return mergeMap({}, rest, meta, path, depth + 1, ctx);
      }
      if (directive !== 'merge') throw bad(path, `unknown $patch directive ${JSON.stringify(directive)}`);
    }
    if (hasOwn(patch, '$retainKeys')) {
      const retain = patch['$retainKeys'];
      if (!Array.isArray(retain) || !retain.every((k) => typeof k === 'string'))
        throw bad(path, '$retainKeys must be a list of strings');
      for (const k of Object.keys(patch))
        if (!isDirectiveKey(k) && !retain.includes(k))
          throw new PatchError('CANNOT_APPLY', path, `strategic merge patch: field "${k}" is not in the $retainKeys list at ${path || '/'}`);
      for (const k of Object.keys(orig)) if (!retain.includes(k)) delete orig[k];
    }
    for (const key of Object.keys(patch)) {
      const value = patch[key];
      if (key.startsWith(DELETE_FROM)) {
        const name = key.slice(DELETE_FROM.length);
        if (!Array.isArray(value)) throw bad(childPointer(path, key), `${key} must be a list`);
        const current = getOwn(orig, name);
        if (Array.isArray(current)) setOwn(orig, name, current.filter((v) => !value.some((d) => deepEqual(d, v))));
      } else if (key.startsWith(SET_ORDER)) {
        if (!Array.isArray(value)) throw bad(childPointer(path, key), `${key} must be a list`);
        orders.set(key.slice(SET_ORDER.length), value);
      }
    }
  }
  for (const key of Object.keys(patch)) {
    if (ctx.directives && isDirectiveKey(key)) continue;
    const pv = patch[key];
    if (pv === null) {
      delete orig[key];
      continue;
    }
    const merged = mergeValue(getOwn(orig, key), pv, metaOf(meta, key), orders.get(key), childPointer(path, key), depth + 1, ctx);
    if (merged === DELETE) delete orig[key];
    else setOwn(orig, key, merged);
  }
  // `$setElementOrder` without a patch list only reorders the existing list.
  for (const [name, order] of orders) {
    const current = getOwn(orig, name);
    const fm = metaOf(meta, name);
    if (hasOwn(patch, name) || !Array.isArray(current) || fm?.strategy !== 'merge') continue;
    const recs = current.map((value, i) => ({ value, id: itemId(value, fm.mergeKey), orig: i }));
    setOwn(orig, name, normalizeOrder(recs, orderIds(order, [], fm.mergeKey, childPointer(path, SET_ORDER + name))));
  }
  return orig;
}

function mergeValue(ov: unknown, pv: unknown, fm: FieldMeta | undefined, order: unknown[] | undefined, path: string, depth: number, ctx: Ctx): Merged {
  if (isRecord(pv)) return mergeMap(isRecord(ov) ? ov : {}, pv, fm?.fields, path, depth, ctx);
  if (Array.isArray(pv)) return mergeList(Array.isArray(ov) ? ov : [], pv, fm, order, path, depth, ctx);
  return pv;
}

/** A patch value with directives resolved and nulls dropped (what it means without an original). */
function clean(value: unknown, meta: PatchMeta | undefined, path: string, depth: number, ctx: Ctx): Merged {
  if (isRecord(value)) return mergeMap({}, value, meta, path, depth, ctx);
  if (Array.isArray(value)) return cleanList(value, undefined, path, depth, ctx);
  return value;
}

function cleanList(list: unknown[], fm: FieldMeta | undefined, path: string, depth: number, ctx: Ctx): unknown[] {
  checkDepth(depth, path);
  const out: unknown[] = [];
  list.forEach((item, i) => {
    const v = clean(item, fm?.fields, childPointer(path, i), depth + 1, ctx);
    if (v !== DELETE) out.push(v);
  });
  return out;
}

interface Rec {
  value: unknown;
  /** merge-key identity (keyed lists) or value identity (primitive sets) */
  id: string | undefined;
  /** index in the original list, -1 for items added by the patch */
  orig: number;
}

function itemId(value: unknown, mergeKey: string | undefined): string | undefined {
  if (mergeKey === undefined) return isRecord(value) || Array.isArray(value) ? undefined : identity(value);
  return isRecord(value) && hasOwn(value, mergeKey) ? identity(value[mergeKey]) : undefined;
}

function orderIds(order: unknown[], patchIds: readonly string[], mergeKey: string | undefined, path: string): string[] {
  const ids = order.map((item) => {
    const id = itemId(item, mergeKey);
    if (id === undefined) throw bad(path, `$setElementOrder items must ${mergeKey ? `carry the merge key "${mergeKey}"` : 'be primitives'}`);
    return id;
  });
  const known = new Set(ids);
  if (patchIds.some((id) => !known.has(id))) throw bad(path, 'the patch list has items missing from its $setElementOrder list');
  return ids;
}

/**
 * Upstream's normalizeElementOrder: items named by the patch order are sorted by it, the other
 * (server-only) items keep their order, and the two are interleaved by original position.
 */
function normalizeOrder(recs: Rec[], patchOrder: readonly string[]): unknown[] {
  const pos = new Map<string, number>();
  patchOrder.forEach((id, i) => {
    if (!pos.has(id)) pos.set(id, i);
  });
  const inPatch = (r: Rec) => r.id !== undefined && pos.has(r.id);
  const left = recs.filter(inPatch).sort((a, b) => (pos.get(a.id ?? '') ?? 0) - (pos.get(b.id ?? '') ?? 0));
  const right = recs.filter((r) => !inPatch(r));
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    const l = left[i];
    const r = right[j];
    // A patch item goes first only when both sides were in the original and it came earlier there.
    if (l && (!r || (l.orig >= 0 && r.orig >= 0 && l.orig < r.orig))) {
      out.push(l.value);
      i++;
    } else if (r) {
      out.push(r.value);
      j++;
    }
  }
  return out;
}

function mergeList(ov: unknown[], pv: unknown[], fm: FieldMeta | undefined, order: unknown[] | undefined, path: string, depth: number, ctx: Ctx): unknown[] {
  checkDepth(depth, path);
  if (fm?.strategy !== 'merge') return cleanList(pv, fm, path, depth, ctx);
  const mk = fm.mergeKey;
  if (mk === undefined) {
    // Primitive set (e.g. finalizers); a list holding objects cannot merge as a set, so it replaces.
    if (pv.some((v) => typeof v === 'object' && v !== null)) return cleanList(pv, fm, path, depth, ctx);
    const recs: Rec[] = ov.map((value, i) => ({ value, id: itemId(value, undefined), orig: i }));
    const seen = new Set(recs.map((r) => r.id));
    for (const value of pv) {
      const id = identity(value);
      if (!seen.has(id)) recs.push({ value, id, orig: -1 });
      seen.add(id);
    }
    const patchIds = pv.map((v) => identity(v));
    return normalizeOrder(recs, order ? orderIds(order, patchIds, undefined, path) : patchIds);
  }
  if (ctx.directives) {
    const replaceAt = pv.findIndex((item) => isRecord(item) && item['$patch'] === 'replace' && hasOwn(item, '$patch'));
    if (replaceAt >= 0) return cleanList(pv.filter((_, i) => i !== replaceAt), fm, path, depth, ctx);
  }
  const deleted = new Set<string>();
  const patchItems: JsonObject[] = [];
  pv.forEach((item, i) => {
    const at = childPointer(path, i);
    if (!isRecord(item)) throw new PatchError('CANNOT_APPLY', at, `strategic merge patch: list item at ${at} must be an object with the merge key "${mk}"`);
    if (ctx.directives && hasOwn(item, '$patch')) {
      const directive = item['$patch'];
      if (directive === 'delete') {
        if (!hasOwn(item, mk)) throw bad(at, `an item with "$patch: delete" must carry the merge key "${mk}"`);
        deleted.add(identity(item[mk]));
        return;
      }
      if (directive !== 'merge') throw bad(at, `unknown $patch directive ${JSON.stringify(directive)}`);
    }
    if (!hasOwn(item, mk)) throw new PatchError('CANNOT_APPLY', at, `strategic merge patch: list item at ${at} does not contain the declared merge key "${mk}"`);
    patchItems.push(item);
  });
  const recs: Rec[] = ov
    .map((value, i) => ({ value, id: itemId(value, mk), orig: i }))
    .filter((r) => r.id === undefined || !deleted.has(r.id));
  const byId = new Map<string, Rec>();
  for (const r of recs) if (r.id !== undefined && !byId.has(r.id)) byId.set(r.id, r);
  patchItems.forEach((item, i) => {
    const id = identity(item[mk]);
    const existing = byId.get(id);
    const base = existing && isRecord(existing.value) ? existing.value : {};
    const merged = mergeMap(base, item, fm.fields, childPointer(path, i), depth + 1, ctx);
    if (merged === DELETE) return;
    if (existing) existing.value = merged;
    else {
      const rec = { value: merged, id, orig: -1 };
      recs.push(rec);
      byId.set(id, rec);
    }
  });
  const patchIds = patchItems.map((item) => identity(item[mk]));
  return normalizeOrder(recs, order ? orderIds(order, patchIds, mk, path) : patchIds);
}

export interface StrategicMergeOptions {
  /** the object's kind (default: obj.kind); selects the merge keys (kinds without a table merge like JSON merge patch) */
  kind?: string;
}

/** Applies a strategic merge patch to a copy of `obj`. */
export function applyStrategicMergePatch(obj: unknown, patch: unknown, opts: StrategicMergeOptions = {}): JsonObject {
  if (!isRecord(patch)) throw new PatchError('INVALID_PATCH', '', 'a strategic merge patch must be a JSON object');
  const base: JsonObject = isRecord(obj) ? cloneJson(obj) : {};
  const kind = opts.kind ?? (typeof base['kind'] === 'string' ? base['kind'] : undefined);
  const meta = patchMetaForKind(kind) ?? GENERIC_META;
  const merged = mergeMap(base, patch, meta, '', 0, { directives: true });
  return merged === DELETE ? {} : merged;
}

/** Merges an apply configuration (no directives; nulls delete) onto a copy of `obj`. */
export function mergeApplied(obj: unknown, applied: JsonObject, meta: PatchMeta): JsonObject {
  const base: JsonObject = isRecord(obj) ? cloneJson(obj) : {};
  const merged = mergeMap(base, applied, meta, '', 0, { directives: false });
  return merged === DELETE ? {} : merged;
}

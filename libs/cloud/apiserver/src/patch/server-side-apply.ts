// Server-side apply (`application/apply-patch+yaml`), simplified from structured-merge-diff: the
// apply configuration merges onto the live object with strategic-merge rules (built-ins) or merge
// rules (custom resources); the manager's Apply entry in metadata.managedFields records what it set;
// fields it set last time and no longer sets are removed unless another manager owns them; changing
// a field owned by another manager is a 409 conflict unless `force`.
import { cloneJson, isRecord } from '@kedge/kube-core';
import type { ApplyConflict } from './errors';
import { PatchError } from './errors';
import type { FieldPath, FieldSet } from './field-set';
import { collectFieldSet, formatFieldPath, fromFieldsV1, getAt, pathKey, removeAt, toFieldsV1 } from './field-set';
import type { JsonObject } from '../json';
import { deepEqual, getOwn, setOwn } from '../json';
import { GENERIC_META, patchMetaForKind } from './patch-meta';
import { mergeApplied } from './strategic-merge';

export interface ServerSideApplyOptions {
  /** `?fieldManager=`; required for apply, as upstream */
  fieldManager: string;
  /** the resource's kind; selects strategic-merge keys (kinds without a table use merge rules) */
  kind?: string;
  /** `?force=true`: take over conflicting fields instead of failing with 409 */
  force?: boolean;
  /** RFC 3339 time for the managedFields entry; defaults to now */
  time?: string;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: JsonObject;
  subresource?: string;
}

interface Owner {
  entry: ManagedFieldsEntry;
  set: FieldSet;
  ours: boolean;
  /** a forced apply took fields away, so the entry is rewritten */
  changed: boolean;
}

function readEntries(existing: unknown): ManagedFieldsEntry[] {
  const meta = isRecord(existing) ? getOwn(existing, 'metadata') : undefined;
  const list = isRecord(meta) ? getOwn(meta, 'managedFields') : undefined;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (e): e is ManagedFieldsEntry => isRecord(e) && typeof e['manager'] === 'string' && typeof e['operation'] === 'string',
  );
}

function requireString(applied: JsonObject, field: string): string {
  const value = getOwn(applied, field);
  if (typeof value !== 'string' || value === '')
    throw new PatchError('INVALID_PATCH', `/${field}`, `apply configuration: ${field} must be set`);
  return value;
}

function conflictMessage(conflicts: readonly ApplyConflict[], apiVersions: Map<string, string>): string {
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), c.field]);
  const parts = [...byManager].map(([manager, fields]) => {
    const using = apiVersions.get(manager) ? ` using ${apiVersions.get(manager)}` : '';
    return fields.length === 1
      ? `conflict with ${JSON.stringify(manager)}${using}: ${fields[0]}`
      : `conflicts with ${JSON.stringify(manager)}${using}:\n${fields.map((f) => `- ${f}`).join('\n')}`;
  });
  const n = conflicts.length;
  return `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: ${parts.join('\n')}`;
}

function isMemberPath(path: FieldPath): boolean {
  const last = path[path.length - 1] ?? '';
  return last.startsWith('k:') || last.startsWith('v:');
}

/** Returns the object after applying `applied` as `fieldManager` (existing = undefined creates). */
export function serverSideApply(existing: unknown, applied: unknown, opts: ServerSideApplyOptions): JsonObject {
  if (!isRecord(applied)) throw new PatchError('INVALID_PATCH', '', 'an apply configuration must be a JSON/YAML object');
  if (typeof opts.fieldManager !== 'string' || opts.fieldManager === '')
    throw new PatchError('INVALID_PATCH', '', 'fieldManager is required for apply requests');
  const apiVersion = requireString(applied, 'apiVersion');
  const kind = requireString(applied, 'kind');
  if (opts.kind !== undefined && kind !== opts.kind)
    throw new PatchError('INVALID_PATCH', '/kind', `apply configuration: kind ${JSON.stringify(kind)} does not match the resource kind ${JSON.stringify(opts.kind)}`);
  const meta = patchMetaForKind(opts.kind ?? kind) ?? GENERIC_META;

  const config = cloneJson(applied);
  const configMeta = getOwn(config, 'metadata');
  if (isRecord(configMeta)) delete configMeta['managedFields'];
  const newSet = collectFieldSet(config, meta);

  const owners: Owner[] = readEntries(existing).map((entry) => ({
    entry,
    set: fromFieldsV1(entry.fieldsV1),
    ours: entry.manager === opts.fieldManager && entry.operation === 'Apply' && !entry.subresource,
    changed: false,
  }));
  const ours = owners.find((o) => o.ours);

  // Conflicts: another manager owns a field this configuration sets to a different value.
  const conflicts: ApplyConflict[] = [];
  const apiVersions = new Map<string, string>();
  for (const owner of owners) {
    if (owner.ours) continue;
    for (const [key, path] of newSet) {
      if (!owner.set.has(key) || isMemberPath(path)) continue;
      const live = getAt(existing, path);
      const wanted = getAt(config, path);
      // Nothing live to clobber, or the same value: ownership is simply shared.
      if (!live.found || (wanted.found && deepEqual(live.value, wanted.value))) continue;
      if (opts.force) {
        owner.set.delete(key);
        owner.changed = true;
      } else {
        conflicts.push({ manager: owner.entry.manager, field: formatFieldPath(path) });
        if (owner.entry.apiVersion) apiVersions.set(owner.entry.manager, owner.entry.apiVersion);
      }
    }
  }
  if (conflicts.length > 0) throw new PatchError('CONFLICT', '', conflictMessage(conflicts, apiVersions), conflicts);

  const live = isRecord(existing) ? cloneJson(existing) : {};
  const liveMeta = getOwn(live, 'metadata');
  if (isRecord(liveMeta)) delete liveMeta['managedFields'];
  const merged = mergeApplied(live, config, meta);

  // Fields this manager applied before but no longer does, and that nobody else still holds.
  if (ours) {
    const kept = new Set<string>();
    const keep = (path: FieldPath) => {
      for (let i = 1; i <= path.length; i++) kept.add(pathKey(path.slice(0, i)));
    };
    for (const path of newSet.values()) keep(path);
    for (const owner of owners) if (!owner.ours) for (const path of owner.set.values()) keep(path);
    for (const [key, path] of ours.set) if (!kept.has(key)) removeAt(merged, path);
  }

  const time = opts.time ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const entries: JsonObject[] = [];
  for (const owner of owners) {
    if (owner.ours) continue;
    if (!owner.changed) entries.push(cloneJson(owner.entry) as unknown as JsonObject);
    else if (owner.set.size > 0) entries.push({ ...(cloneJson(owner.entry) as unknown as JsonObject), fieldsV1: toFieldsV1(owner.set) });
  }
  if (newSet.size > 0)
    entries.push({ manager: opts.fieldManager, operation: 'Apply', apiVersion, time, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(newSet) });
  const mergedMeta = getOwn(merged, 'metadata');
  const outMeta: JsonObject = isRecord(mergedMeta) ? mergedMeta : {};
  setOwn(outMeta, 'managedFields', entries);
  setOwn(merged, 'metadata', outMeta);
  return merged;
}

// metadata.managedFields for writes that are not server-side apply (create, update, patch): the
// writing manager's `Update` entry gains the fields it changed, and every other manager, appliers
// included, loses them, as in Kubernetes. Server-side apply keeps its own entries through the patch
// module; both read and write the same FieldsV1 notation.
import type { KubeObject, ManagedFieldsEntry } from '@kedge/kube-core';
import { coveredBy, fromFieldsV1, leafFieldsV1, leafValues, toFieldsV1, type FieldPath, type FieldSet, type LeafValues } from '../patch';

export interface ManagedWrite {
  manager: string;
  apiVersion: string;
  /** metav1.Time of the write */
  time: string;
  /** '' for the main resource, 'status' for the status subresource */
  subresource: string;
}

function sameEntry(entry: ManagedFieldsEntry, write: ManagedWrite): boolean {
  return entry.manager === write.manager && entry.operation === 'Update' && (entry.subresource ?? '') === write.subresource;
}

/** managedFields of `next` after `write` changed `previous` into it (previous undefined: a create). */
export function trackManagedFields(previous: KubeObject | undefined, next: KubeObject, write: ManagedWrite): ManagedFieldsEntry[] {
  const only = write.subresource === 'status' ? 'status' : undefined;
  if (previous === undefined && (next.metadata.managedFields ?? []).length === 0) {
    // a plain create: the writer owns every leaf, and no other entry exists to take fields from
    const { fieldsV1, leaves } = leafFieldsV1(next, only);
    return leaves === 0 ? [] : [newEntry(write, fieldsV1)];
  }
  const before: LeafValues = previous === undefined ? new Map() : leafValues(previous, only);
  const after = leafValues(next, only);
  const changed = new Set([...after].filter(([key, leaf]) => before.get(key)?.value !== leaf.value).map(([key]) => key));
  const removed = new Set([...before.keys()].filter((key) => !after.has(key)));
  const existing = previous?.metadata.managedFields ?? next.metadata.managedFields ?? [];
  if (changed.size === 0 && removed.size === 0 && previous !== undefined) return existing;

  const entries: ManagedFieldsEntry[] = [];
  let mine: FieldSet | undefined;
  for (const entry of existing) {
    const owned = [...fromFieldsV1(entry.fieldsV1)];
    // an owner keeps what is still there and was not rewritten by this manager
    const kept: FieldSet = new Map(owned.filter(([key, path]) => !changed.has(key) && !removed.has(key) && (after.has(key) || !coveredBy(path, removed))));
    if (sameEntry(entry, write)) {
      mine = new Map(owned.filter(([key]) => !removed.has(key)));
      continue;
    }
    if (kept.size > 0) entries.push({ ...entry, fieldsV1: toFieldsV1(kept) });
  }
  const changedPaths = [...after].filter(([key]) => changed.has(key)).map(([key, leaf]): [string, FieldPath] => [key, leaf.path]);
  const myPaths: FieldSet = new Map([...(mine ?? []), ...changedPaths]);
  if (myPaths.size > 0) entries.push(newEntry(write, toFieldsV1(myPaths)));
  return entries;
}

function newEntry(write: ManagedWrite, fieldsV1: ManagedFieldsEntry['fieldsV1']): ManagedFieldsEntry {
  const entry: ManagedFieldsEntry = { manager: write.manager, operation: 'Update', apiVersion: write.apiVersion, time: write.time, fieldsType: 'FieldsV1', fieldsV1 };
  if (write.subresource !== '') entry.subresource = write.subresource;
  return entry;
}

/** The manager a request writes as: `fieldManager`, else the User-Agent's product (`kubectl` of `kubectl/v1.32`). */
export function managerName(fieldManager: string | undefined, userAgent: string | undefined): string {
  if (fieldManager !== undefined && fieldManager !== '') return fieldManager;
  const product = (userAgent ?? '').split('/')[0]?.trim() ?? '';
  return product === '' ? 'unknown' : product.slice(0, 128);
}

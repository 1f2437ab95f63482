// DELETE semantics of Kubernetes: preconditions, graceful deletion (pods on a node wait for it),
// finalizers that hold an object in "deleting" state, and the propagation policies that the garbage
// collector acts on (Orphan and Foreground through their finalizers, Background after the fact).
import { conflict, formatTimestamp, notFound, recordAt, type KubeObject } from '@kedge/kube-core';
import type { ResourceType } from '../resources';
import { decodeStored, encodeObject, objectKey, toStatusError } from './object-codec';
import type { ResourceStore } from './resource-store';

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export const ORPHAN_FINALIZER = 'orphan';
export const FOREGROUND_FINALIZER = 'foregroundDeletion';
export const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: PropagationPolicy;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface DeleteResult {
  /** the object as deleted, or as it now waits for its grace period or finalizers */
  object: KubeObject;
  /** true when the object is gone from storage */
  deleted: boolean;
}

/** Finalizers still to run; a namespace also waits for its spec.finalizers (the namespace controller). */
export function deletionBlocked(object: KubeObject): boolean {
  if ((object.metadata.finalizers ?? []).length > 0) return true;
  if (object.kind === 'Namespace') {
    const finalizers = recordAt(object, ['spec'])?.['finalizers'];
    return Array.isArray(finalizers) && finalizers.length > 0;
  }
  return false;
}

function checkPreconditions(type: ResourceType, object: KubeObject, options: DeleteOptions): void {
  const ref = { group: type.group, resource: type.plural };
  const name = object.metadata.name ?? '';
  const { uid, resourceVersion } = options.preconditions ?? {};
  if (uid !== undefined && uid !== '' && uid !== object.metadata.uid) {
    throw conflict(ref, name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${object.metadata.uid ?? ''}`);
  }
  if (resourceVersion !== undefined && resourceVersion !== '' && resourceVersion !== object.metadata.resourceVersion) {
    throw conflict(
      ref,
      name,
      `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${object.metadata.resourceVersion ?? ''}`,
    );
  }
}

/** What deletion adds before the object can go: propagation finalizers, a namespace's Terminating phase, a CRD's cleanup. */
function markForDeletion(object: KubeObject, policy: PropagationPolicy | undefined): void {
  const finalizers = new Set(object.metadata.finalizers ?? []);
  if (policy === 'Orphan') finalizers.add(ORPHAN_FINALIZER);
  if (policy === 'Foreground') finalizers.add(FOREGROUND_FINALIZER);
  if (object.kind === 'CustomResourceDefinition') finalizers.add(CRD_CLEANUP_FINALIZER);
  if (finalizers.size > 0) object.metadata.finalizers = [...finalizers];
  if (object.kind === 'Namespace') object['status'] = { ...recordAt(object, ['status']), phase: 'Terminating' };
}

export function deleteObject(
  store: ResourceStore,
  type: ResourceType,
  namespace: string | undefined,
  name: string,
  options: DeleteOptions,
): DeleteResult {
  const key = objectKey(type, namespace, name);
  const stored = store.storage.get(key);
  if (stored === undefined) throw notFound({ group: type.group, resource: type.plural }, name);
  const current = decodeStored(type, stored);
  checkPreconditions(type, current, options);
  const grace = type.deletionGracePeriod(current, options.gracePeriodSeconds);
  const alreadyDeleting = current.metadata.deletionTimestamp !== undefined;
  const next: KubeObject = structuredClone(current);
  // Orphan/Foreground only apply to a delete that starts the deletion, as in Kubernetes
  if (!alreadyDeleting) markForDeletion(next, options.propagationPolicy);
  const blocked = deletionBlocked(next);

  try {
    if (!blocked && grace === 0) {
      if (options.dryRun) return { object: current, deleted: true };
      return { object: decodeStored(type, store.storage.delete(key, stored.revision)), deleted: true };
    }
    if (alreadyDeleting) {
      // a second delete can only shorten the wait (kubectl delete --grace-period=0 --force after a normal delete)
      const remaining = current.metadata.deletionGracePeriodSeconds ?? 0;
      if (grace >= remaining) return { object: current, deleted: false };
    }
    const now = store.now();
    next.metadata.deletionTimestamp = formatTimestamp(new Date(now.getTime() + grace * 1000));
    next.metadata.deletionGracePeriodSeconds = grace;
    next.metadata.generation = (current.metadata.generation ?? 1) + (alreadyDeleting ? 0 : 1);
    if (options.dryRun) return { object: next, deleted: false };
    return { object: decodeStored(type, store.storage.update(key, stored.revision, encodeObject(type, next))), deleted: false };
  } catch (error) {
    throw toStatusError(error, type, name);
  }
}

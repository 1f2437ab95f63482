// Creating, deleting, adopting and releasing the pods of a controller (upstream's PodControl and
// ControllerRefManager), through client-node.
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { isConflict, isNotFound, mergePatch } from '@kedge/kube-client';
import type { KubeObject, OwnerReference } from '@kedge/kube-core';
import type { Pod, PodSpec, PodTemplate } from './objects';
import { controllerOf, isDeleting, nameOf, namespaceOf } from './objects';

export function controllerReference(owner: KubeObject, kind: string, apiVersion = 'apps/v1'): OwnerReference {
  return { apiVersion, kind, name: nameOf(owner), uid: owner.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true };
}

/** A pod for `owner` from its template: generateName `<owner>-`, the template's labels and spec. */
export function podFromTemplate(
  owner: KubeObject,
  kind: string,
  template: PodTemplate | undefined,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string>; spec?: Partial<PodSpec>; name?: string; generateName?: string; finalizers?: string[]; apiVersion?: string } = {},
): Pod {
  const copy = JSON.parse(JSON.stringify(template ?? {})) as PodTemplate;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...(extra.name === undefined ? { generateName: extra.generateName ?? `${nameOf(owner)}-` } : { name: extra.name }),
      namespace: namespaceOf(owner),
      labels: { ...(copy.metadata?.labels ?? {}), ...(extra.labels ?? {}) },
      ...(copy.metadata?.annotations === undefined && extra.annotations === undefined ? {} : { annotations: { ...(copy.metadata?.annotations ?? {}), ...(extra.annotations ?? {}) } }),
      ...(extra.finalizers === undefined ? {} : { finalizers: extra.finalizers }),
      ownerReferences: [controllerReference(owner, kind, extra.apiVersion)],
    },
    spec: { ...(copy.spec ?? {}), ...(extra.spec ?? {}) },
  };
}

export class PodControl {
  constructor(private readonly core: CoreV1Api) {}

  /** Creates the pod; returns the name the API server gave it. */
  async create(pod: Pod): Promise<string> {
    const created = await this.core.createNamespacedPod({ namespace: namespaceOf(pod), body: pod as V1Pod });
    return created.metadata?.name ?? '';
  }

  /** Deletes a pod; `force` skips the grace period (its node is gone, nobody will confirm). A pod already gone is fine. */
  async delete(pod: Pod, force = false): Promise<void> {
    try {
      await this.core.deleteNamespacedPod({
        name: nameOf(pod),
        namespace: namespaceOf(pod),
        ...(force ? { gracePeriodSeconds: 0 } : {}),
        body: { preconditions: { uid: pod.metadata?.uid } } as never,
      });
    } catch (error) {
      if (!isNotFound(error) && !isConflict(error)) throw error;
    }
  }

  /** Makes `owner` the controller of an orphan pod; the resourceVersion makes it a compare-and-swap. */
  async adopt(pod: Pod, reference: OwnerReference): Promise<void> {
    if (controllerOf(pod) !== undefined) return;
    const ownerReferences = [...(pod.metadata?.ownerReferences ?? []), reference];
    await this.core.patchNamespacedPod(
      { name: nameOf(pod), namespace: namespaceOf(pod), body: { metadata: { resourceVersion: pod.metadata?.resourceVersion, ownerReferences } } },
      mergePatch(),
    );
  }

  /** Drops `ownerUid` from a pod that no longer matches its owner's selector. */
  async release(pod: Pod, ownerUid: string): Promise<void> {
    const ownerReferences = (pod.metadata?.ownerReferences ?? []).filter((reference) => reference.uid !== ownerUid);
    try {
      await this.core.patchNamespacedPod(
        { name: nameOf(pod), namespace: namespaceOf(pod), body: { metadata: { resourceVersion: pod.metadata?.resourceVersion, ownerReferences } } },
        mergePatch(),
      );
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

/**
 * The pods `owner` controls after adoption and release: owned pods that still match, plus orphans
 * that match (adopted now). Pods controlled by someone else are never touched.
 */
export async function claimPods(
  control: PodControl,
  owner: KubeObject,
  kind: string,
  pods: Pod[],
  matches: (pod: Pod) => boolean,
  apiVersion = 'apps/v1',
): Promise<Pod[]> {
  const uid = owner.metadata?.uid ?? '';
  const claimed: Pod[] = [];
  const ownerDeleting = isDeleting(owner);
  for (const pod of pods) {
    const reference = controllerOf(pod);
    if (reference !== undefined) {
      if (reference.uid !== uid) continue;
      if (matches(pod)) claimed.push(pod);
      else if (!ownerDeleting) await control.release(pod, uid);
      continue;
    }
    if (ownerDeleting || isDeleting(pod) || !matches(pod)) continue;
    try {
      await control.adopt(pod, controllerReference(owner, kind, apiVersion));
      claimed.push(pod);
    } catch (error) {
      // someone changed the pod meanwhile; the next pass looks again
      if (!isConflict(error) && !isNotFound(error)) throw error;
    }
  }
  return claimed;
}

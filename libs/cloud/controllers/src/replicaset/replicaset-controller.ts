// The ReplicaSet controller: keeps spec.replicas active pods from the template, adopts matching
// orphans, deletes the extras that hurt least to lose, and reports status. Pods on an edge node
// whose link is down stay active with their last reported status, so they are never replaced.
import { isNotFound, mergePatch, type ReconcileOutcome, type WorkQueue } from '@kedge/kube-client';
import type { Pod, ReplicaSet } from '../objects';
import { controllerOf, createdAt, isDeleting, keyOf, nameOf, namespaceOf, splitKey } from '../objects';
import { becomesAvailableAt, isPodActive, isPodAvailable, isPodReady } from '../pod-state';
import { claimPods, podFromTemplate, PodControl } from '../pod-control';
import { compileLabelSelector } from '../selectors';
import { createControllerQueue, type ControllerContext } from '../runtime/controller-context';
import { Expectations } from '../runtime/expectations';

/** upstream's BurstReplicas: at most this many pod creations or deletions per pass */
const BURST = 500;

/**
 * Which pods go first when scaling down (upstream's ActivePods ordering, simplified): unassigned, then
 * pending, then not ready, then the most recently created.
 */
export function deletionOrder(a: Pod, b: Pod): number {
  const rank = (pod: Pod): number => ((pod.spec?.nodeName ?? '') === '' ? 0 : pod.status?.phase === 'Pending' ? 1 : !isPodReady(pod) ? 2 : 3);
  return rank(a) - rank(b) || createdAt(b).localeCompare(createdAt(a));
}

export class ReplicaSetController {
  readonly queue: WorkQueue;
  private readonly expectations: Expectations;
  private readonly pods: PodControl;

  constructor(private readonly context: ControllerContext) {
    this.expectations = new Expectations(context.now);
    this.pods = new PodControl(context.core);
    this.queue = createControllerQueue(context, 'replicaset', (key) => this.sync(key), (key) => {
      const { namespace, name } = splitKey(key);
      const set = context.informers.replicaSets.get(name, namespace);
      return set === undefined ? undefined : { kind: 'ReplicaSet', apiVersion: 'apps/v1', object: set };
    });
    context.informers.replicaSets.subscribe((event, set) => {
      if (event === 'delete') this.expectations.forget(keyOf(set));
      this.queue.add(keyOf(set));
    });
    context.informers.pods.subscribe((event, pod, previous) => {
      const owner = controllerOf(pod);
      if (owner?.kind === 'ReplicaSet') {
        const ownerKey = `${namespaceOf(pod)}/${owner.name}`;
        if (event === 'add') this.expectations.creationObserved(ownerKey);
        if (event === 'delete' || (isDeleting(pod) && previous !== undefined && !isDeleting(previous))) this.expectations.deletionObserved(ownerKey, keyOf(pod));
        this.queue.add(ownerKey);
        return;
      }
      if (owner === undefined && event !== 'delete') {
        // an orphan: every ReplicaSet of its namespace whose selector may match looks at it
        for (const set of context.informers.replicaSets.list(namespaceOf(pod))) this.queue.add(keyOf(set));
      }
    });
  }

  private async sync(key: string): Promise<ReconcileOutcome> {
    const { namespace, name } = splitKey(key);
    const set = this.context.informers.replicaSets.get(name, namespace);
    if (set === undefined) return; // its pods go with it through garbage collection
    const matches = compileLabelSelector(set.spec?.selector, 'spec.selector');
    const candidates = this.context.informers.pods.list(namespace).filter((pod) => isPodActive(pod) || controllerOf(pod)?.uid === set.metadata?.uid);
    const claimed = await claimPods(this.pods, set, 'ReplicaSet', candidates, (pod) => matches(pod.metadata?.labels));
    const active = claimed.filter(isPodActive);
    if (!isDeleting(set) && this.expectations.satisfied(key)) await this.manageReplicas(key, set, active);
    return this.updateStatus(set, claimed.filter(isPodActive));
  }

  private async manageReplicas(key: string, set: ReplicaSet, active: Pod[]): Promise<void> {
    const wanted = set.spec?.replicas ?? 1;
    const diff = active.length - wanted;
    if (diff < 0) {
      const count = Math.min(-diff, BURST);
      this.expectations.expect(key, count, []);
      // slow start as upstream: 1, 2, 4 ... so a template that cannot be created fails once, not 500 times
      let created = 0;
      for (let batch = 1; created < count; batch *= 2) {
        const size = Math.min(batch, count - created);
        const results = await Promise.allSettled(Array.from({ length: size }, () => this.pods.create(podFromTemplate(set, 'ReplicaSet', set.spec?.template))));
        const failed = results.filter((result) => result.status === 'rejected');
        created += size;
        if (failed.length > 0) {
          // the creates that never happened (this batch's failures and the batches skipped) will never be observed
          for (let i = 0; i < failed.length + (count - created); i++) this.expectations.creationObserved(key);
          throw (failed[0] as PromiseRejectedResult).reason;
        }
      }
      this.context.logger.info({ replicaset: key, created: count, wanted }, 'replicaset created pods');
    } else if (diff > 0) {
      const victims = [...active].sort(deletionOrder).slice(0, Math.min(diff, BURST));
      this.expectations.expect(key, 0, victims.map(keyOf));
      await Promise.all(victims.map((pod) => this.pods.delete(pod)));
      this.context.logger.info({ replicaset: key, deleted: victims.map(nameOf), wanted }, 'replicaset deleted pods');
    }
  }

  private async updateStatus(set: ReplicaSet, active: Pod[]): Promise<ReconcileOutcome> {
    const now = this.context.now();
    const minReadySeconds = set.spec?.minReadySeconds ?? 0;
    const templateLabels = set.spec?.template?.metadata?.labels ?? {};
    const status = {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((pod) => Object.entries(templateLabels).every(([label, value]) => pod.metadata?.labels?.[label] === value)).length,
      readyReplicas: active.filter(isPodReady).length,
      availableReplicas: active.filter((pod) => isPodAvailable(pod, minReadySeconds, now)).length,
      observedGeneration: set.metadata?.generation ?? 0,
    };
    const current = set.status ?? {};
    const changed = (Object.keys(status) as Array<keyof typeof status>).some((field) => (current[field] ?? 0) !== status[field]);
    if (changed) {
      try {
        await this.context.apps.patchNamespacedReplicaSetStatus({ name: nameOf(set), namespace: namespaceOf(set), body: { status } }, mergePatch());
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    const next = Math.min(...active.map((pod) => becomesAvailableAt(pod, minReadySeconds, now) ?? Infinity));
    return Number.isFinite(next) ? { requeueAfterMs: next - now + 10 } : undefined;
  }
}

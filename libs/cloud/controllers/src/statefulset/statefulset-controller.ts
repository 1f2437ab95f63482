// The StatefulSet controller (upstream pkg/controller/statefulset, reduced): pods with stable names
// `<set>-<ordinal>` and identity labels; OrderedReady (create in order, each Running and Ready before
// the next, remove in reverse) or Parallel management; RollingUpdate from the highest ordinal down to
// `partition`, one pod at a time, or OnDelete; ControllerRevisions for currentRevision and
// updateRevision. At most one pod per ordinal exists at any time: a pod being deleted is waited for,
// so a pod on an edge node whose link is down is never run twice. Only a deleted node frees its pods.
import type { V1ControllerRevision } from '@kubernetes/client-node';
import { httpStatusOf, isNotFound, mergePatch, type ReconcileOutcome, type WorkQueue } from '@kedge/kube-client';
import type { ControllerRevision, Pod, PodTemplate, StatefulSet } from '../objects';
import { controllerOf, isDeleting, keyOf, nameOf, namespaceOf, splitKey } from '../objects';
import { claimPods, podFromTemplate, PodControl } from '../pod-control';
import { becomesAvailableAt, isPodAvailable, isPodReady } from '../pod-state';
import { compileLabelSelector } from '../selectors';
import { createControllerQueue, type ControllerContext } from '../runtime/controller-context';
import { InvalidSpecError } from '../spec-error';
import { CONTROLLER_REVISION_HASH_LABEL } from '../daemonset/daemonset-controller';
import { findMatching, newRevision, revisionsOf, templateOf } from './revisions';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

function isHealthy(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && isPodReady(pod) && !isDeleting(pod);
}

const revisionOf = (pod: Pod): string | undefined => pod.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL];

export class StatefulSetController {
  readonly queue: WorkQueue;
  private readonly pods: PodControl;

  constructor(private readonly context: ControllerContext) {
    this.pods = new PodControl(context.core);
    this.queue = createControllerQueue(context, 'statefulset', (key) => this.sync(key), (key) => {
      const { namespace, name } = splitKey(key);
      const set = context.informers.statefulSets.get(name, namespace);
      return set === undefined ? undefined : { kind: 'StatefulSet', apiVersion: 'apps/v1', object: set };
    });
    context.informers.statefulSets.subscribe((_event, set) => this.queue.add(keyOf(set)));
    context.informers.pods.subscribe((event, pod) => {
      const owner = controllerOf(pod);
      if (owner?.kind === 'StatefulSet') this.queue.add(`${namespaceOf(pod)}/${owner.name}`);
      else if (owner === undefined && event !== 'delete') for (const set of context.informers.statefulSets.list(namespaceOf(pod))) this.queue.add(keyOf(set));
    });
    context.informers.controllerRevisions.subscribe((_event, revision) => {
      const owner = controllerOf(revision);
      if (owner?.kind === 'StatefulSet') this.queue.add(`${namespaceOf(revision)}/${owner.name}`);
    });
    // a deleted node is "declared gone": its pods may be made again elsewhere
    context.informers.nodes.subscribe((event) => {
      if (event === 'delete') for (const set of context.informers.statefulSets.list()) this.queue.add(keyOf(set));
    });
  }

  private async sync(key: string): Promise<ReconcileOutcome> {
    const { namespace, name } = splitKey(key);
    const set = this.context.informers.statefulSets.get(name, namespace);
    if (set === undefined || isDeleting(set)) return;
    if ((set.spec?.volumeClaimTemplates ?? []).length > 0) {
      throw new InvalidSpecError(
        'spec.volumeClaimTemplates',
        'PersistentVolumeClaims are not served by the embedded API server and edge nodes have no volume provisioner; remove volumeClaimTemplates and use hostPath or emptyDir volumes',
      );
    }
    const matches = compileLabelSelector(set.spec?.selector, 'spec.selector');
    const uid = set.metadata?.uid ?? '';
    const candidates = this.context.informers.pods.list(namespace).filter((pod) => controllerOf(pod)?.uid === uid || (controllerOf(pod) === undefined && !isDeleting(pod)));
    const claimed = await claimPods(this.pods, set, 'StatefulSet', candidates, (pod) => matches(pod.metadata?.labels));
    const { current, update, revisions } = await this.revisions(set);

    const start = set.spec?.ordinals?.start ?? 0;
    const replicas = set.spec?.replicas ?? 1;
    const slots: Array<Pod | undefined> = Array.from({ length: replicas }, () => undefined);
    const condemned: Array<{ ordinal: number; pod: Pod }> = [];
    const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)$`);
    for (const pod of claimed) {
      const match = pattern.exec(nameOf(pod));
      if (match === null) continue; // not one of our identities: never touched
      const ordinal = Number(match[1]);
      if (ordinal >= start && ordinal < start + replicas) slots[ordinal - start] = pod;
      else condemned.push({ ordinal, pod });
    }
    condemned.sort((a, b) => b.ordinal - a.ordinal);
    await this.manage(set, slots, condemned, current, update);
    await this.trimHistory(set, revisions, claimed, current, update);
    return this.updateStatus(set, [...slots.filter((pod): pod is Pod => pod !== undefined), ...condemned.map((entry) => entry.pod)], current, update);
  }

  /** The revision of the current template (made if new, renumbered on a rollback) and the current one. */
  private async revisions(set: StatefulSet): Promise<{ current: ControllerRevision; update: ControllerRevision; revisions: ControllerRevision[] }> {
    const revisions = revisionsOf(set, this.context.informers.controllerRevisions.list(namespaceOf(set)));
    const latest = revisions.at(-1)?.revision ?? 0;
    let update = findMatching(set, revisions);
    if (update === undefined) {
      const collisionCount = set.status?.collisionCount ?? 0;
      const body = newRevision(set, latest + 1, collisionCount);
      // a 409 means our cache was behind (the revision exists): the failure retries once the informer has it
      await this.context.apps.createNamespacedControllerRevision({ namespace: namespaceOf(set), body: body as V1ControllerRevision });
      update = body;
    } else if (update !== revisions.at(-1)) {
      // back to an older template: it becomes the newest revision again
      await this.context.apps.patchNamespacedControllerRevision({ name: nameOf(update), namespace: namespaceOf(set), body: { revision: latest + 1 } }, mergePatch());
      update = { ...update, revision: latest + 1 };
    }
    const current = revisions.find((revision) => nameOf(revision) === set.status?.currentRevision) ?? update;
    return { current, update, revisions };
  }

  private podFor(set: StatefulSet, ordinal: number, revision: ControllerRevision, template: PodTemplate | undefined): Pod {
    const podName = `${nameOf(set)}-${ordinal}`;
    return podFromTemplate(set, 'StatefulSet', template, {
      name: podName,
      labels: { [POD_NAME_LABEL]: podName, [POD_INDEX_LABEL]: String(ordinal), [CONTROLLER_REVISION_HASH_LABEL]: nameOf(revision) },
      spec: { hostname: podName, ...(set.spec?.serviceName ? { subdomain: set.spec.serviceName } : {}) },
    });
  }

  private async manage(set: StatefulSet, slots: Array<Pod | undefined>, condemned: Array<{ ordinal: number; pod: Pod }>, current: ControllerRevision, update: ControllerRevision): Promise<void> {
    const ordered = set.spec?.podManagementPolicy !== 'Parallel';
    const start = set.spec?.ordinals?.start ?? 0;
    const rolling = set.spec?.updateStrategy?.type !== 'OnDelete';
    const partition = set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
    const nodes = this.context.informers.nodes;
    const target = { kind: 'StatefulSet', apiVersion: 'apps/v1', object: set };
    let blocked = false;
    for (const [offset, pod] of slots.entries()) {
      const ordinal = start + offset;
      if (pod === undefined) {
        // ordinals below the partition keep the current revision, as upstream's newVersionedStatefulSetPod
        const revision = rolling && ordinal < partition ? current : update;
        const template = revision === update ? set.spec?.template : templateOf(revision);
        try {
          await this.pods.create(this.podFor(set, ordinal, revision, template));
          this.context.events.emit(target, 'Normal', 'SuccessfulCreate', `create Pod ${nameOf(set)}-${ordinal} in StatefulSet ${nameOf(set)} successful`);
        } catch (error) {
          if (httpStatusOf(error) !== 409) throw error; // the old pod is still there: wait for it to go
        }
        if (ordered) return;
        blocked = true;
        continue;
      }
      const nodeName = pod.spec?.nodeName;
      if (!isDeleting(pod) && (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded' || (nodeName && nodes.get(nodeName) === undefined))) {
        // a failed pod, or one whose node is gone, is deleted and made again under the same name
        const gone = nodeName !== undefined && nodeName !== '' && nodes.get(nodeName) === undefined;
        this.context.events.emit(target, 'Warning', 'RecreatingFailedPod', `StatefulSet ${namespaceOf(set)}/${nameOf(set)} is recreating ${gone ? 'the pod of a deleted node' : 'failed'} Pod ${nameOf(pod)}`);
        await this.pods.delete(pod, gone);
        if (ordered) return;
        blocked = true;
        continue;
      }
      if (gonePodOnDeletedNode(pod, nodes)) await this.pods.delete(pod, true);
      if (!isHealthy(pod)) {
        if (ordered) return;
        blocked = true;
      }
    }
    // scale down: the highest ordinal first, one at a time when ordered, once everything above is healthy
    for (const { pod } of condemned) {
      if (isDeleting(pod)) {
        if (gonePodOnDeletedNode(pod, nodes)) await this.pods.delete(pod, true);
        if (ordered) return;
        continue;
      }
      await this.pods.delete(pod);
      this.context.events.emit(target, 'Normal', 'SuccessfulDelete', `delete Pod ${nameOf(pod)} in StatefulSet ${nameOf(set)} successful`);
      if (ordered) return;
    }
    if (!rolling || blocked) return;
    // rolling update: from the highest ordinal down to the partition, one pod at a time
    for (let offset = slots.length - 1; offset >= 0 && start + offset >= partition; offset--) {
      const pod = slots[offset];
      if (pod === undefined) return;
      if (revisionOf(pod) !== nameOf(update) && !isDeleting(pod)) {
        await this.pods.delete(pod);
        this.context.events.emit(target, 'Normal', 'SuccessfulDelete', `delete Pod ${nameOf(pod)} in StatefulSet ${nameOf(set)} successful`);
        return;
      }
      if (!isHealthy(pod)) return;
    }
  }

  /** revisionHistoryLimit: the oldest revisions that no pod uses and that are neither current nor update go. */
  private async trimHistory(set: StatefulSet, revisions: ControllerRevision[], pods: Pod[], current: ControllerRevision, update: ControllerRevision): Promise<void> {
    const live = new Set([nameOf(current), nameOf(update), ...pods.map((pod) => revisionOf(pod) ?? '')]);
    const history = revisions.filter((revision) => !live.has(nameOf(revision)));
    const limit = set.spec?.revisionHistoryLimit ?? 10;
    for (const revision of history.slice(0, Math.max(0, history.length - limit))) {
      try {
        await this.context.apps.deleteNamespacedControllerRevision({ name: nameOf(revision), namespace: namespaceOf(revision) });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
  }

  private async updateStatus(set: StatefulSet, pods: Pod[], current: ControllerRevision, update: ControllerRevision): Promise<ReconcileOutcome> {
    const now = this.context.now();
    const minReadySeconds = set.spec?.minReadySeconds ?? 0;
    const present = pods.filter((pod) => !isDeleting(pod));
    const status = {
      observedGeneration: set.metadata?.generation ?? 0,
      replicas: present.length,
      readyReplicas: present.filter(isHealthy).length,
      availableReplicas: present.filter((pod) => isHealthy(pod) && isPodAvailable(pod, minReadySeconds, now)).length,
      currentReplicas: present.filter((pod) => revisionOf(pod) === nameOf(current)).length,
      updatedReplicas: present.filter((pod) => revisionOf(pod) === nameOf(update)).length,
      currentRevision: nameOf(current),
      updateRevision: nameOf(update),
      collisionCount: set.status?.collisionCount ?? 0,
    };
    // every pod runs the update revision and is ready: the update is complete (upstream completeRollingUpdate)
    if (status.updatedReplicas === status.replicas && status.readyReplicas === status.replicas && status.replicas === (set.spec?.replicas ?? 1)) {
      status.currentRevision = status.updateRevision;
      status.currentReplicas = status.updatedReplicas;
    }
    const currentStatus = set.status ?? {};
    if (Object.entries(status).some(([field, value]) => currentStatus[field] !== value)) {
      try {
        await this.context.apps.patchNamespacedStatefulSetStatus({ name: nameOf(set), namespace: namespaceOf(set), body: { status } }, mergePatch());
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    const next = Math.min(...present.map((pod) => becomesAvailableAt(pod, minReadySeconds, now) ?? Infinity));
    return Number.isFinite(next) ? { requeueAfterMs: next - now + 10 } : undefined;
  }
}

/** A pod being deleted on a node that no longer exists: nobody will confirm it, so it is force-deleted (PodGC's job upstream). */
function gonePodOnDeletedNode(pod: Pod, nodes: { get(name: string): unknown }): boolean {
  const nodeName = pod.spec?.nodeName;
  return isDeleting(pod) && nodeName !== undefined && nodeName !== '' && nodes.get(nodeName) === undefined;
}

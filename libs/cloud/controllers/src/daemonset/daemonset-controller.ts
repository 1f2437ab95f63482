// The DaemonSet controller: one pod per eligible node, created with spec.nodeName set (as K3s-era
// and pre-1.12 upstream did; no scheduler round trip, so an edge node gets its pod even while the
// scheduler is busy). Pods leave nodes that stop matching, force-deleted when their node is gone.
// RollingUpdate replaces old pods within maxUnavailable; OnDelete leaves them. A node that is merely
// unreachable keeps its daemon pod and gets no rollout until it is back.
import { isNotFound, mergePatch, type ReconcileOutcome, type WorkQueue } from '@kedge/kube-client';
import type { DaemonSet, Node, Pod } from '../objects';
import { controllerOf, createdAt, isDeleting, keyOf, nameOf, namespaceOf, splitKey } from '../objects';
import { claimPods, podFromTemplate, PodControl } from '../pod-control';
import { becomesAvailableAt, isPodActive, isPodAvailable, isPodReady } from '../pod-state';
import { compileLabelSelector } from '../selectors';
import { podTemplateHash } from '../deployment/pod-template-hash';
import { resolveIntOrPercent } from '../deployment/rolling-update';
import { createControllerQueue, type ControllerContext } from '../runtime/controller-context';
import { Expectations } from '../runtime/expectations';
import { daemonPlacement, daemonTolerations, type Placement } from './daemon-placement';

export const CONTROLLER_REVISION_HASH_LABEL = 'controller-revision-hash';

function nodeView(node: Node): string {
  const ready = node.status?.conditions?.find((condition) => condition.type === 'Ready')?.status;
  return JSON.stringify([node.metadata?.labels, node.spec?.taints, node.spec?.unschedulable, ready]);
}

interface NodePlan {
  node: Node;
  placement: Placement;
  pods: Pod[];
}

export class DaemonSetController {
  readonly queue: WorkQueue;
  private readonly expectations: Expectations;
  private readonly pods: PodControl;

  constructor(private readonly context: ControllerContext) {
    this.expectations = new Expectations(context.now);
    this.pods = new PodControl(context.core);
    this.queue = createControllerQueue(context, 'daemonset', (key) => this.sync(key), (key) => {
      const { namespace, name } = splitKey(key);
      const daemonSet = context.informers.daemonSets.get(name, namespace);
      return daemonSet === undefined ? undefined : { kind: 'DaemonSet', apiVersion: 'apps/v1', object: daemonSet };
    });
    const all = (): void => {
      for (const daemonSet of context.informers.daemonSets.list()) this.queue.add(keyOf(daemonSet));
    };
    context.informers.daemonSets.subscribe((event, daemonSet) => {
      if (event === 'delete') this.expectations.forget(keyOf(daemonSet));
      this.queue.add(keyOf(daemonSet));
    });
    context.informers.nodes.subscribe((event, node, previous) => {
      if (event !== 'update' || previous === undefined || nodeView(previous) !== nodeView(node)) all();
    });
    context.informers.pods.subscribe((event, pod, previous) => {
      const owner = controllerOf(pod);
      if (owner?.kind !== 'DaemonSet') {
        if (owner === undefined && event !== 'delete') for (const daemonSet of context.informers.daemonSets.list(namespaceOf(pod))) this.queue.add(keyOf(daemonSet));
        return;
      }
      const ownerKey = `${namespaceOf(pod)}/${owner.name}`;
      if (event === 'add') this.expectations.creationObserved(ownerKey);
      if (event === 'delete' || (isDeleting(pod) && previous !== undefined && !isDeleting(previous))) this.expectations.deletionObserved(ownerKey, keyOf(pod));
      this.queue.add(ownerKey);
    });
  }

  private async sync(key: string): Promise<ReconcileOutcome> {
    const { namespace, name } = splitKey(key);
    const daemonSet = this.context.informers.daemonSets.get(name, namespace);
    if (daemonSet === undefined || isDeleting(daemonSet)) return;
    const matches = compileLabelSelector(daemonSet.spec?.selector, 'spec.selector');
    const candidates = this.context.informers.pods.list(namespace).filter((pod) => isPodActive(pod) || controllerOf(pod)?.uid === daemonSet.metadata?.uid);
    const claimed = await claimPods(this.pods, daemonSet, 'DaemonSet', candidates, (pod) => matches(pod.metadata?.labels));
    const hash = podTemplateHash(daemonSet.spec?.template);
    const nodes = new Map(this.context.informers.nodes.list().map((node) => [nameOf(node), node]));
    const plans = new Map<string, NodePlan>();
    for (const node of nodes.values()) plans.set(nameOf(node), { node, placement: daemonPlacement(daemonSet, node), pods: [] });
    const orphaned: Pod[] = [];
    const failed: Pod[] = [];
    for (const pod of claimed) {
      if (pod.status?.phase === 'Failed' && !isDeleting(pod)) failed.push(pod);
      if (!isPodActive(pod)) continue;
      const plan = plans.get(pod.spec?.nodeName ?? '');
      if (plan === undefined) orphaned.push(pod);
      else plan.pods.push(pod);
    }
    if (this.expectations.satisfied(key)) await this.manage(key, daemonSet, hash, [...plans.values()], orphaned, failed);
    return this.updateStatus(daemonSet, hash, [...plans.values()]);
  }

  private async manage(key: string, daemonSet: DaemonSet, hash: string, plans: NodePlan[], orphaned: Pod[], failed: Pod[]): Promise<void> {
    const creates: string[] = [];
    const deletes: Pod[] = [...failed];
    const forceDeletes: Pod[] = [...orphaned]; // their node is gone: nobody will confirm a graceful delete (as PodGC)
    for (const { node, placement, pods } of plans) {
      if (placement.shouldRun && pods.length === 0) creates.push(nameOf(node));
      else if (!placement.shouldContinueRunning) deletes.push(...pods);
      else if (pods.length > 1) {
        // keep the updated, then the oldest pod
        const ordered = [...pods].sort(
          (a, b) =>
            Number(b.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash) - Number(a.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash) ||
            createdAt(a).localeCompare(createdAt(b)),
        );
        deletes.push(...ordered.slice(1));
      }
    }
    if (daemonSet.spec?.updateStrategy?.type !== 'OnDelete') deletes.push(...this.rollingUpdateVictims(daemonSet, hash, plans));
    if (creates.length === 0 && deletes.length === 0 && forceDeletes.length === 0) return;
    this.expectations.expect(key, creates.length, [...deletes, ...forceDeletes].map(keyOf));
    const template = daemonSet.spec?.template;
    const generation = String(daemonSet.metadata?.generation ?? 1);
    const results = await Promise.allSettled([
      ...creates.map((nodeName) =>
        this.pods
          .create(
            podFromTemplate(daemonSet, 'DaemonSet', template, {
              labels: { [CONTROLLER_REVISION_HASH_LABEL]: hash, 'pod-template-generation': generation },
              spec: { nodeName, tolerations: daemonTolerations(template?.spec) },
            }),
          )
          .catch((error: unknown) => {
            this.expectations.creationObserved(key);
            throw error;
          }),
      ),
      ...deletes.map((pod) => this.pods.delete(pod)),
      ...forceDeletes.map((pod) => this.pods.delete(pod, true)),
    ]);
    if (creates.length > 0 || deletes.length > 0 || forceDeletes.length > 0) {
      this.context.logger.info({ daemonset: key, createdOn: creates, deleted: [...deletes, ...forceDeletes].map(nameOf) }, 'daemonset placed pods');
    }
    const failure = results.find((result) => result.status === 'rejected');
    if (failure !== undefined) throw (failure as PromiseRejectedResult).reason;
  }

  /** Old pods to replace now: unavailable ones at once, available ones within maxUnavailable. */
  private rollingUpdateVictims(daemonSet: DaemonSet, hash: string, plans: NodePlan[]): Pod[] {
    const desired = plans.filter((plan) => plan.placement.shouldRun);
    const minReadySeconds = daemonSet.spec?.minReadySeconds ?? 0;
    const now = this.context.now();
    const maxUnavailable = resolveIntOrPercent(daemonSet.spec?.updateStrategy?.rollingUpdate?.maxUnavailable, desired.length, true, 'spec.updateStrategy.rollingUpdate.maxUnavailable', '1');
    const available = (pod: Pod): boolean => isPodAvailable(pod, minReadySeconds, now);
    let unavailable = desired.filter((plan) => !plan.pods.some(available)).length;
    const victims: Pod[] = [];
    const old = desired.flatMap((plan) => plan.pods.filter((pod) => pod.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL] !== hash && !isDeleting(pod)));
    for (const pod of old.filter((pod) => !available(pod))) victims.push(pod);
    for (const pod of old.filter(available)) {
      if (unavailable >= Math.max(1, maxUnavailable)) break;
      victims.push(pod);
      unavailable += 1;
    }
    return victims;
  }

  private async updateStatus(daemonSet: DaemonSet, hash: string, plans: NodePlan[]): Promise<ReconcileOutcome> {
    const minReadySeconds = daemonSet.spec?.minReadySeconds ?? 0;
    const now = this.context.now();
    // a node that only keeps its pod (an unreachable edge) still counts as desired: its pod runs there
    const desired = plans.filter((plan) => plan.placement.shouldRun || (plan.placement.shouldContinueRunning && plan.pods.length > 0));
    const firstPods = desired.flatMap((plan) => plan.pods.slice(0, 1));
    const status = {
      desiredNumberScheduled: desired.length,
      currentNumberScheduled: firstPods.length,
      numberMisscheduled: plans.filter((plan) => !desired.includes(plan) && plan.pods.length > 0).length,
      numberReady: firstPods.filter(isPodReady).length,
      numberAvailable: firstPods.filter((pod) => isPodAvailable(pod, minReadySeconds, now)).length,
      updatedNumberScheduled: firstPods.filter((pod) => pod.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash).length,
      numberUnavailable: 0,
      observedGeneration: daemonSet.metadata?.generation ?? 0,
    };
    status.numberUnavailable = Math.max(0, status.desiredNumberScheduled - status.numberAvailable);
    const current = daemonSet.status ?? {};
    if (Object.entries(status).some(([field, value]) => ((current[field] as number | undefined) ?? 0) !== value)) {
      try {
        await this.context.apps.patchNamespacedDaemonSetStatus({ name: nameOf(daemonSet), namespace: namespaceOf(daemonSet), body: { status } }, mergePatch());
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    const next = Math.min(...firstPods.map((pod) => becomesAvailableAt(pod, minReadySeconds, now) ?? Infinity));
    return Number.isFinite(next) ? { requeueAfterMs: next - now + 10 } : undefined;
  }
}

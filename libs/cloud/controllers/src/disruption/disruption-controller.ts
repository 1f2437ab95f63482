// The disruption controller: keeps every PodDisruptionBudget's status (expectedPods, desiredHealthy,
// currentHealthy, disruptionsAllowed, observedGeneration, disruptedPods, the DisruptionAllowed condition)
// from the pods it selects and their controllers' scale, as kube-controller-manager's does. The eviction
// subresource takes disruptions from that status and records evicted pods in disruptedPods; this
// controller forgets a recorded eviction once the pod is deleting or after two minutes.
import { PolicyV1Api, type KubeConfig } from '@kubernetes/client-node';
import { DEFAULT_INFORMER_BACKOFF, KubeJson, SharedInformer, errorMessage, isNotFound, mergePatch, type InformerBackoff, type ReconcileOutcome, type WorkQueue } from '@kedge/kube-client';
import type { Logger } from '@kedge/telemetry';
import type { OwnerReference } from '@kedge/kube-core';
import { controllerOf, keyOf, nameOf, namespaceOf, splitKey, type Pod, type ReplicaSet } from '../objects';
import { createControllerQueue, type ControllerContext } from '../runtime/controller-context';
import { computeBudgetStatus, disruptionAllowedCondition, podsSelectedBy, type ControllerScale, type PodDisruptionBudget, type PodDisruptionBudgetStatus } from './budget-status';

/** the fields read from a StatefulSet are those of a ReplicaSet (uid, spec.replicas) */
type StatefulSet = ReplicaSet;

/** The informers only this controller needs; started and stopped with the others. */
export interface DisruptionInformers {
  budgets: SharedInformer<PodDisruptionBudget>;
  statefulSets: SharedInformer<StatefulSet>;
}

export function createDisruptionInformers(kubeConfig: KubeConfig, logger: Logger, backoff: InformerBackoff = DEFAULT_INFORMER_BACKOFF): DisruptionInformers {
  const json = new KubeJson(kubeConfig);
  return {
    budgets: new SharedInformer<PodDisruptionBudget>({ kubeConfig, json, resource: 'poddisruptionbudgets', path: '/apis/policy/v1/poddisruptionbudgets', logger, backoff }),
    statefulSets: new SharedInformer<StatefulSet>({ kubeConfig, json, resource: 'statefulsets', path: '/apis/apps/v1/statefulsets', logger, backoff }),
  };
}

const BUDGET_TARGET = (budget: PodDisruptionBudget) => ({ kind: 'PodDisruptionBudget', apiVersion: 'policy/v1', object: budget });

export class DisruptionController {
  readonly queue: WorkQueue;
  private readonly policy: PolicyV1Api;

  constructor(
    private readonly context: ControllerContext,
    private readonly informers: DisruptionInformers,
    kubeConfig: KubeConfig,
  ) {
    this.policy = kubeConfig.makeApiClient(PolicyV1Api);
    this.queue = createControllerQueue(context, 'disruption', (key) => this.sync(key), (key) => {
      const { namespace, name } = splitKey(key);
      const budget = informers.budgets.get(name, namespace);
      return budget === undefined ? undefined : BUDGET_TARGET(budget);
    });
    informers.budgets.subscribe((event, budget) => {
      if (event !== 'delete') this.queue.add(keyOf(budget));
    });
    context.informers.pods.subscribe((_event, pod, previous) => this.enqueueBudgetsOf(pod, previous));
    // a controller's scale decides expectedPods for percentages and maxUnavailable
    const enqueueNamespace = (_event: string, object: { metadata?: { namespace?: string } }) => {
      for (const budget of informers.budgets.list(object.metadata?.namespace ?? 'default')) this.queue.add(keyOf(budget));
    };
    context.informers.replicaSets.subscribe(enqueueNamespace);
    context.informers.deployments.subscribe(enqueueNamespace);
    informers.statefulSets.subscribe(enqueueNamespace);
  }

  private enqueueBudgetsOf(pod: Pod, previous: Pod | undefined): void {
    for (const budget of this.informers.budgets.list(namespaceOf(pod))) {
      let selects: boolean;
      try {
        selects = [pod, previous].some((candidate) => candidate !== undefined && podsSelectedBy(budget, [candidate]).length > 0);
      } catch {
        selects = true; // a broken selector: its sync reports it
      }
      if (selects) this.queue.add(keyOf(budget));
    }
  }

  /** The finders of upstream: a ReplicaSet's Deployment, else the ReplicaSet; a StatefulSet. */
  private scaleOf(reference: OwnerReference, namespace: string): ControllerScale | undefined {
    if (reference.kind === 'ReplicaSet') {
      const set = this.context.informers.replicaSets.get(reference.name, namespace);
      if (set === undefined || set.metadata?.uid !== reference.uid) return undefined;
      const owner = controllerOf(set);
      if (owner?.kind === 'Deployment') {
        const deployment = this.context.informers.deployments.get(owner.name, namespace);
        if (deployment !== undefined && deployment.metadata?.uid === owner.uid) return { uid: owner.uid, replicas: deployment.spec?.replicas ?? 1 };
      }
      return { uid: reference.uid, replicas: set.spec?.replicas ?? 1 };
    }
    if (reference.kind === 'StatefulSet') {
      const set = this.informers.statefulSets.get(reference.name, namespace);
      if (set === undefined || set.metadata?.uid !== reference.uid) return undefined;
      return { uid: reference.uid, replicas: set.spec?.replicas ?? 1 };
    }
    return undefined;
  }

  private async sync(key: string): Promise<ReconcileOutcome> {
    const { namespace, name } = splitKey(key);
    const budget = this.informers.budgets.get(name, namespace);
    if (budget === undefined) return;
    const now = this.context.now();
    let computed: ReturnType<typeof computeBudgetStatus>;
    try {
      computed = computeBudgetStatus(budget, this.context.informers.pods.list(namespace), (reference, at) => this.scaleOf(reference, at), now);
    } catch (error) {
      // failSafe upstream: no disruptions while the status cannot be computed
      this.context.events.emit(BUDGET_TARGET(budget), 'Warning', 'CalculateExpectedPodCountFailed', `Failed to calculate the number of expected pods: ${errorMessage(error)}`);
      await this.patchStatus(budget, { disruptionsAllowed: 0, conditions: disruptionAllowedCondition(budget.status?.conditions, 0, budget.metadata?.generation ?? 0, now, errorMessage(error)) });
      throw error;
    }
    const { status } = computed;
    const current = budget.status ?? {};
    const unchanged =
      (['observedGeneration', 'disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods'] as const).every((field) => (current[field] ?? 0) === status[field]) &&
      sameDisruptions(current.disruptedPods ?? {}, status.disruptedPods) &&
      current.conditions?.some((condition) => condition.type === 'DisruptionAllowed' && condition.reason !== 'SyncFailed') === true;
    if (!unchanged) {
      if (computed.pods.length === 0) this.context.events.emit(BUDGET_TARGET(budget), 'Normal', 'NoPods', 'No matching pods found');
      if (computed.unmanagedPods.length > 0) {
        this.context.events.emit(
          BUDGET_TARGET(budget),
          'Warning',
          'UnmanagedPods',
          `Pods selected by this PodDisruptionBudget were found to be unmanaged (${computed.unmanagedPods.join(', ')}). As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.`,
        );
      }
      const removed = Object.keys(current.disruptedPods ?? {}).filter((pod) => !(pod in status.disruptedPods));
      const disruptedPods = Object.keys(status.disruptedPods).length === 0 ? null : { ...status.disruptedPods, ...Object.fromEntries(removed.map((pod) => [pod, null])) };
      await this.patchStatus(budget, {
        ...status,
        disruptedPods,
        conditions: disruptionAllowedCondition(current.conditions, status.disruptionsAllowed, status.observedGeneration, now),
      });
      this.context.logger.debug({ budget: key, ...status }, 'disruption budget status updated');
    }
    return computed.recheckAt === undefined ? undefined : { requeueAfterMs: Math.max(0, computed.recheckAt - now) + 10 };
  }

  /**
   * A merge patch of the status, conditional on the resourceVersion this computation read: an eviction
   * that took a disruption in the meantime makes it a 409, and the queue computes again from the newer budget.
   */
  private async patchStatus(budget: PodDisruptionBudget, status: Omit<PodDisruptionBudgetStatus, 'disruptedPods'> & { disruptedPods?: Record<string, string | null> | null }): Promise<void> {
    const body = { metadata: { resourceVersion: budget.metadata?.resourceVersion }, status };
    try {
      await this.policy.patchNamespacedPodDisruptionBudgetStatus({ name: nameOf(budget), namespace: namespaceOf(budget), body }, mergePatch());
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

function sameDisruptions(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

// What a PodDisruptionBudget's status should say, computed as kube-controller-manager's disruption
// controller does (pkg/controller/disruption): which pods the budget selects, how many are expected (the
// scale of their controllers, for percentages and maxUnavailable), how many are healthy (Ready, not being
// deleted, not just evicted), and from those how many disruptions are allowed. Pure: the controller
// feeds it the informers' objects and a way to find a controller's scale.
import { labelSelectorRequirements, matchesLabels, SelectorParseError, type KubeObject, type LabelSelector, type OwnerReference } from '@kedge/kube-core';
import { resolveIntOrPercent } from '../deployment/rolling-update';
import { controllerOf, isDeleting, nameOf, type Condition, type Pod } from '../objects';
import { isPodReady } from '../pod-state';
import { InvalidSpecError } from '../spec-error';

/** Upstream's DeletionTimeout: an evicted pod not deleted within this is counted again. */
export const DISRUPTED_POD_TIMEOUT_MS = 2 * 60 * 1000;

export interface PodDisruptionBudgetStatus {
  observedGeneration?: number;
  disruptedPods?: Record<string, string>;
  disruptionsAllowed?: number;
  currentHealthy?: number;
  desiredHealthy?: number;
  expectedPods?: number;
  conditions?: Condition[];
}

export interface PodDisruptionBudget extends KubeObject {
  spec?: {
    minAvailable?: number | string;
    maxUnavailable?: number | string;
    selector?: LabelSelector | null;
    unhealthyPodEvictionPolicy?: string;
  };
  status?: PodDisruptionBudgetStatus;
}

/** A controller of pods and how many it wants: its uid and spec.replicas. */
export interface ControllerScale {
  uid: string;
  replicas: number;
}

/** Finds the scale of a pod's controller; undefined when no known kind of controller has that reference. */
export type ScaleFinder = (reference: OwnerReference, namespace: string) => ControllerScale | undefined;

export interface BudgetComputation {
  /** the pods the budget selects */
  pods: Pod[];
  /** the status fields the controller owns, as they should be */
  status: Required<Omit<PodDisruptionBudgetStatus, 'conditions'>>;
  /** pods without a controller, when the budget needed their controllers' scale */
  unmanagedPods: string[];
  /** when the earliest recorded eviction times out (recompute then), epoch ms */
  recheckAt: number | undefined;
}

/**
 * The pods a budget selects: as upstream's LabelSelectorAsSelector, a missing selector selects nothing
 * and an empty one ({}) every pod of the namespace.
 */
export function podsSelectedBy(budget: PodDisruptionBudget, pods: readonly Pod[]): Pod[] {
  const selector = budget.spec?.selector;
  if (selector === undefined || selector === null) return [];
  try {
    const requirements = labelSelectorRequirements(selector, 'spec.selector');
    return pods.filter((pod) => matchesLabels(requirements, pod.metadata?.labels));
  } catch (error) {
    if (error instanceof SelectorParseError) throw new InvalidSpecError(error.field, error.message);
    throw error;
  }
}

/** getExpectedScale upstream: the sum of the replicas of the selected pods' controllers. */
function expectedScale(pods: readonly Pod[], namespace: string, findScale: ScaleFinder): { expected: number; unmanaged: string[] } {
  const scales = new Map<string, number>();
  const unmanaged: string[] = [];
  for (const pod of pods) {
    const reference = controllerOf(pod);
    if (reference === undefined) {
      unmanaged.push(nameOf(pod));
      continue;
    }
    if (scales.has(reference.uid)) continue;
    const scale = findScale(reference, namespace);
    if (scale === undefined) throw new Error(`found no controllers for pod "${nameOf(pod)}" (${reference.kind} ${reference.name} has no scale this controller can read)`);
    scales.set(scale.uid, scale.replicas);
  }
  return { expected: [...scales.values()].reduce((sum, replicas) => sum + replicas, 0), unmanaged };
}

/** getExpectedPodCount upstream: how many pods the budget expects and how many must stay healthy. */
function expectedAndDesired(budget: PodDisruptionBudget, pods: readonly Pod[], namespace: string, findScale: ScaleFinder) {
  const { minAvailable, maxUnavailable } = budget.spec ?? {};
  if (maxUnavailable !== undefined && maxUnavailable !== null) {
    const { expected, unmanaged } = expectedScale(pods, namespace, findScale);
    const unavailable = resolveIntOrPercent(maxUnavailable, expected, true, 'spec.maxUnavailable');
    return { expected, desired: Math.max(0, expected - unavailable), unmanaged };
  }
  if (minAvailable !== undefined && minAvailable !== null) {
    if (typeof minAvailable === 'number') return { expected: pods.length, desired: minAvailable, unmanaged: [] };
    const { expected, unmanaged } = expectedScale(pods, namespace, findScale);
    return { expected, desired: resolveIntOrPercent(minAvailable, expected, true, 'spec.minAvailable'), unmanaged };
  }
  return { expected: 0, desired: 0, unmanaged: [] };
}

/** buildDisruptedPodMap upstream: recorded evictions of pods still here, not deleting, and not timed out. */
function liveDisruptions(budget: PodDisruptionBudget, pods: readonly Pod[], now: number): { disrupted: Record<string, string>; recheckAt: number | undefined } {
  const recorded = budget.status?.disruptedPods ?? {};
  const disrupted: Record<string, string> = {};
  let recheckAt: number | undefined;
  for (const pod of pods) {
    const at = recorded[nameOf(pod)];
    if (at === undefined || isDeleting(pod)) continue;
    const expires = Date.parse(at) + DISRUPTED_POD_TIMEOUT_MS;
    if (Number.isNaN(expires) || expires < now) continue; // its eviction never happened: the pod counts again
    disrupted[nameOf(pod)] = at;
    recheckAt = recheckAt === undefined ? expires : Math.min(recheckAt, expires);
  }
  return { disrupted, recheckAt };
}

/**
 * countHealthyPods upstream: Ready (the Ready condition True), not being deleted, not just evicted. A pod
 * whose Ready is Unknown (its node stopped reporting) is not healthy, as upstream.
 */
export function isHealthy(pod: Pod, disrupted: Record<string, string>): boolean {
  return !isDeleting(pod) && disrupted[nameOf(pod)] === undefined && isPodReady(pod);
}

export function computeBudgetStatus(budget: PodDisruptionBudget, namespacePods: readonly Pod[], findScale: ScaleFinder, now: number): BudgetComputation {
  const namespace = budget.metadata?.namespace ?? 'default';
  const pods = podsSelectedBy(budget, namespacePods);
  const { expected, desired, unmanaged } = expectedAndDesired(budget, pods, namespace, findScale);
  const { disrupted, recheckAt } = liveDisruptions(budget, pods, now);
  const healthy = pods.filter((pod) => isHealthy(pod, disrupted)).length;
  const allowed = expected <= 0 ? 0 : Math.max(0, healthy - desired);
  return {
    pods,
    status: {
      observedGeneration: budget.metadata?.generation ?? 0,
      disruptedPods: disrupted,
      disruptionsAllowed: allowed,
      currentHealthy: healthy,
      desiredHealthy: desired,
      expectedPods: expected,
    },
    unmanagedPods: unmanaged,
    recheckAt,
  };
}

/** UpdateDisruptionAllowedCondition upstream; a sync failure is `syncFailure` (reason SyncFailed). */
export function disruptionAllowedCondition(previous: readonly Condition[] | undefined, allowed: number, generation: number, now: number, syncFailure?: string): Condition[] {
  const list = [...(previous ?? [])];
  const old = list.find((condition) => condition.type === 'DisruptionAllowed');
  const status = syncFailure === undefined && allowed > 0 ? 'True' : 'False';
  const reason = syncFailure !== undefined ? 'SyncFailed' : allowed > 0 ? 'SufficientPods' : 'InsufficientPods';
  const condition: Condition & { observedGeneration: number } = {
    type: 'DisruptionAllowed',
    status,
    observedGeneration: generation,
    reason,
    message: syncFailure ?? '',
    lastTransitionTime: old?.status === status && old.lastTransitionTime !== undefined ? old.lastTransitionTime : new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  return [...list.filter((entry) => entry !== old), condition];
}

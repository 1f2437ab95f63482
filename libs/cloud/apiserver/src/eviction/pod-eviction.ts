// Evicting a pod as kube-apiserver's EvictionREST does (pkg/registry/core/pod/storage/eviction.go):
// a pod that already stopped, is Pending or is being deleted goes without a budget check; otherwise the
// one PodDisruptionBudget selecting it must allow a disruption, which is taken (disruptionsAllowed
// decremented, the pod recorded in status.disruptedPods for the disruption controller) before the pod is
// deleted gracefully. Storage is synchronous, so the check, the budget's write and the pod's delete run
// in one tick: no other request interleaves, and two evictions cannot both take a budget's last
// disruption (upstream gets the same from a conflict-retried update of the budget).
import { StatusError, formatTimestamp, isRecord, labelSelectorRequirements, matchesLabels, recordAt, stringAt, type KubeObject, type LabelSelector } from '@kedge/kube-core';
import type { DeleteOptions, ResourceStore } from '../registry';
import type { ResourceType } from '../resources';

/** Upstream's MaxDisruptedPodSize: more unconfirmed evictions than this and a budget refuses more. */
export const MAX_DISRUPTED_PODS = 2000;

export const EVICTION_REFUSED_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget.";
/** The cause type upstream names a budget with (policyv1.DisruptionBudgetCause). */
export const DISRUPTION_BUDGET_CAUSE = 'DisruptionBudget';

export type EvictionOutcome =
  /** deleted (or marked for graceful deletion) without consulting a budget */
  | { result: 'evicted'; budget: undefined }
  /** a budget allowed it (or the pod was unhealthy and the budget's policy let it go) */
  | { result: 'evicted'; budget: string }
  /** upstream answers this one with a 500 Status, not an error: the eviction subresource cannot decide */
  | { result: 'multiple-budgets'; budgets: string[] };

export interface EvictionTypes {
  pods: ResourceType;
  budgets: ResourceType;
}

function tooManyRequests(cause: string, retryAfterSeconds: number): StatusError {
  return new StatusError(429, 'TooManyRequests', EVICTION_REFUSED_MESSAGE, {
    causes: [{ reason: DISRUPTION_BUDGET_CAUSE, message: cause }],
    ...(retryAfterSeconds > 0 ? { retryAfterSeconds } : {}),
  });
}

function budgetForbidden(name: string, reason: string): StatusError {
  return new StatusError(403, 'Forbidden', `poddisruptionbudget.policy "${name}" is forbidden: ${reason}`, { name, group: 'policy', kind: 'poddisruptionbudget' });
}

export function isPodReady(pod: KubeObject): boolean {
  const conditions = recordAt(pod, ['status'])?.['conditions'];
  return Array.isArray(conditions) && conditions.some((condition) => isRecord(condition) && condition['type'] === 'Ready' && condition['status'] === 'True');
}

/** canIgnorePDB upstream: the pod's disruption already happened, or nothing runs yet. */
function canIgnoreBudgets(pod: KubeObject): boolean {
  const phase = stringAt(pod, ['status', 'phase']);
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || pod.metadata.deletionTimestamp !== undefined;
}

/**
 * The budgets selecting this pod. A budget with an empty or unreadable selector selects nothing here,
 * as upstream's getPodDisruptionBudgets ("it should match nothing, not everything").
 */
export function budgetsSelecting(budgets: readonly KubeObject[], pod: KubeObject): KubeObject[] {
  return budgets.filter((budget) => {
    const selector = recordAt(budget, ['spec', 'selector']) as LabelSelector | undefined;
    if (selector === undefined) return false;
    if (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0) return false;
    try {
      return matchesLabels(labelSelectorRequirements(selector, 'spec.selector'), pod.metadata.labels ?? {});
    } catch {
      return false;
    }
  });
}

const counter = (status: Record<string, unknown>, field: string): number => (typeof status[field] === 'number' ? status[field] : 0);

/** checkAndDecrement upstream: the budget's status after taking one disruption for `podName`, or the refusal. */
export function takeDisruption(budget: KubeObject, podName: string, now: Date): KubeObject {
  const name = budget.metadata.name ?? '';
  const status = recordAt(budget, ['status']) ?? {};
  const allowed = counter(status, 'disruptionsAllowed');
  if (counter(status, 'observedGeneration') < (budget.metadata.generation ?? 0)) {
    throw tooManyRequests(`The disruption budget ${name} is still being processed by the server.`, 10);
  }
  if (allowed < 0) throw budgetForbidden(name, 'pdb disruptions allowed is negative');
  const disrupted = isRecord(status['disruptedPods']) ? status['disruptedPods'] : {};
  if (Object.keys(disrupted).length > MAX_DISRUPTED_PODS) {
    throw budgetForbidden(name, 'DisruptedPods map too big - too many evictions not confirmed by PDB controller');
  }
  if (allowed === 0) {
    throw tooManyRequests(
      `The disruption budget ${name} needs ${counter(status, 'desiredHealthy')} healthy pods and has ${counter(status, 'currentHealthy')} currently`,
      0,
    );
  }
  const next: Record<string, unknown> = { ...status, disruptionsAllowed: allowed - 1, disruptedPods: { ...disrupted, [podName]: formatTimestamp(now) } };
  if (allowed - 1 === 0) next['conditions'] = withDisruptionAllowed(status['conditions'], false, budget.metadata.generation ?? 0, now);
  return { ...budget, status: next };
}

/** The DisruptionAllowed condition as upstream's UpdateDisruptionAllowedCondition sets it. */
export function withDisruptionAllowed(conditions: unknown, allowed: boolean, generation: number, now: Date): Record<string, unknown>[] {
  const list = Array.isArray(conditions) ? conditions.filter(isRecord) : [];
  const previous = list.find((condition) => condition['type'] === 'DisruptionAllowed');
  const status = allowed ? 'True' : 'False';
  const condition = {
    type: 'DisruptionAllowed',
    status,
    observedGeneration: generation,
    lastTransitionTime: previous?.['status'] === status && typeof previous['lastTransitionTime'] === 'string' ? previous['lastTransitionTime'] : formatTimestamp(now),
    reason: allowed ? 'SufficientPods' : 'InsufficientPods',
    message: '',
  };
  return [...list.filter((entry) => entry !== previous), condition];
}

/**
 * Evicts `name`: throws the Status errors upstream answers (404, 409 on a failed precondition, 429 when
 * the budget forbids it, 403 for a broken budget). `options.dryRun` checks everything and writes nothing.
 */
export function evictPod(store: ResourceStore, types: EvictionTypes, namespace: string, name: string, options: DeleteOptions): EvictionOutcome {
  const pod = store.get(types.pods, namespace, name);
  // a failing precondition (or anything else the delete would refuse) refuses the eviction before a
  // budget is touched: a dry-run delete in the same tick sees exactly what the real one will
  store.delete(types.pods, namespace, name, { ...options, dryRun: true });
  if (canIgnoreBudgets(pod)) {
    store.delete(types.pods, namespace, name, options);
    return { result: 'evicted', budget: undefined };
  }
  const budgets = budgetsSelecting(store.list(types.budgets, namespace, { labelSelector: [], fieldSelector: [], limit: 0 }).items, pod);
  if (budgets.length > 1) return { result: 'multiple-budgets', budgets: budgets.map((budget) => budget.metadata.name ?? '') };
  const budget = budgets[0];
  if (budget === undefined) {
    store.delete(types.pods, namespace, name, options);
    return { result: 'evicted', budget: undefined };
  }
  const budgetName = budget.metadata.name ?? '';
  if (!isPodReady(pod) && unhealthyMayGo(budget)) {
    // an unhealthy pod does not count as healthy: losing it costs the budget nothing
    store.delete(types.pods, namespace, name, options);
    return { result: 'evicted', budget: budgetName };
  }
  const taken = takeDisruption(budget, name, store.now());
  if (!options.dryRun) {
    // the resourceVersion read above is a precondition: another writer (a second process on this file) is a 409, never a double take
    store.modify(types.budgets, namespace, budgetName, () => taken, { fieldManager: 'kube-apiserver', subresource: 'status' });
  }
  store.delete(types.pods, namespace, name, options);
  return { result: 'evicted', budget: budgetName };
}

/** Whether a not-ready pod may be evicted without taking a disruption (spec.unhealthyPodEvictionPolicy). */
function unhealthyMayGo(budget: KubeObject): boolean {
  if (stringAt(budget, ['spec', 'unhealthyPodEvictionPolicy']) === 'AlwaysAllow') return true;
  const status = recordAt(budget, ['status']) ?? {};
  const desired = counter(status, 'desiredHealthy');
  return counter(status, 'currentHealthy') >= desired && desired > 0;
}

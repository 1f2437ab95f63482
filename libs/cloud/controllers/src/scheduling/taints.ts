// Taints and tolerations as the scheduler's TaintToleration plugin sees them, plus the taints a
// node's conditions imply. Upstream the node lifecycle controller writes those taints
// (TaintNodesByCondition); kedge's NodeLifecycle writes only unreachable for silent edge nodes, so
// the scheduler and the DaemonSet controller derive the rest from the Ready condition themselves.
import type { Node, Taint, Toleration } from '../objects';

export const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';
export const UNREACHABLE_TAINT = 'node.kubernetes.io/unreachable';
export const UNSCHEDULABLE_TAINT = 'node.kubernetes.io/unschedulable';

export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect !== undefined && toleration.effect !== '' && toleration.effect !== taint.effect) return false;
  const operator = toleration.operator ?? 'Equal';
  if (toleration.key === undefined || toleration.key === '') return operator === 'Exists';
  if (toleration.key !== taint.key) return false;
  if (operator === 'Exists') return true;
  return operator === 'Equal' && (toleration.value ?? '') === (taint.value ?? '');
}

/** The node's taints plus not-ready/unreachable:NoSchedule implied by its Ready condition (unschedulable too). */
export function effectiveTaints(node: Node): Taint[] {
  const taints = [...(node.spec?.taints ?? [])];
  const add = (key: string): void => {
    if (!taints.some((taint) => taint.key === key && taint.effect === 'NoSchedule')) taints.push({ key, effect: 'NoSchedule' });
  };
  const ready = node.status?.conditions?.find((condition) => condition.type === 'Ready');
  if (ready?.status === 'Unknown') add(UNREACHABLE_TAINT);
  else if (ready?.status !== 'True') add(NOT_READY_TAINT);
  if (node.spec?.unschedulable === true) add(UNSCHEDULABLE_TAINT);
  return taints;
}

/** The first taint with one of `effects` that no toleration tolerates, if any. */
export function untoleratedTaint(taints: Taint[], tolerations: Toleration[] | undefined, effects: readonly string[]): Taint | undefined {
  return taints.find((taint) => effects.includes(taint.effect ?? '') && !(tolerations ?? []).some((toleration) => tolerates(toleration, taint)));
}

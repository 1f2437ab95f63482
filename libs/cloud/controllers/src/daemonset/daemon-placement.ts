// Where a DaemonSet's pods belong, as upstream's nodeShouldRunDaemonPod: a node must match the
// template's nodeSelector and required node affinity, and its NoSchedule/NoExecute taints must be
// tolerated, counting the tolerations every daemon pod gets. A pod already on a node keeps running
// while its NoExecute taints are tolerated; NoSchedule taints (unreachable included) only stop new ones.
import type { DaemonSet, Node, PodSpec, Toleration } from '../objects';
import { matchesNodeSelection } from '../scheduling/node-fit';
import { effectiveTaints, NOT_READY_TAINT, UNREACHABLE_TAINT, UNSCHEDULABLE_TAINT, untoleratedTaint } from '../scheduling/taints';

/** The tolerations upstream's DaemonSet controller adds to every daemon pod. */
export function daemonTolerations(spec: PodSpec | undefined): Toleration[] {
  const added: Toleration[] = [
    { key: NOT_READY_TAINT, operator: 'Exists', effect: 'NoExecute' },
    { key: UNREACHABLE_TAINT, operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: UNSCHEDULABLE_TAINT, operator: 'Exists', effect: 'NoSchedule' },
  ];
  if (spec?.hostNetwork === true) added.push({ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' });
  const existing = spec?.tolerations ?? [];
  const missing = added.filter((toleration) => !existing.some((have) => have.key === toleration.key && have.effect === toleration.effect));
  return [...existing, ...missing];
}

export interface Placement {
  /** a new daemon pod may be created here */
  shouldRun: boolean;
  /** a daemon pod already here may stay */
  shouldContinueRunning: boolean;
}

export function daemonPlacement(daemonSet: DaemonSet, node: Node): Placement {
  const spec = daemonSet.spec?.template?.spec;
  if (!matchesNodeSelection(spec, node, 'spec.template.spec')) return { shouldRun: false, shouldContinueRunning: false };
  const tolerations = daemonTolerations(spec);
  const taints = effectiveTaints(node);
  const shouldContinueRunning = untoleratedTaint(taints, tolerations, ['NoExecute']) === undefined;
  const shouldRun = shouldContinueRunning && untoleratedTaint(taints, tolerations, ['NoSchedule']) === undefined;
  return { shouldRun, shouldContinueRunning };
}

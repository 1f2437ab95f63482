// The scheduler's filters and score as pure functions: which nodes a pod may go to (and, for the
// rest, the reason upstream would print), and which of those to pick. Filters, in upstream's order:
// NodeUnschedulable, NodeAffinity (nodeSelector + required node affinity), TaintToleration
// (NoSchedule and NoExecute, including the taints a NotReady/Unknown node implies), NodeResourcesFit
// (cpu, memory, other scalar requests and the pod count against allocatable).
import type { Node, Pod, PodSpec } from '../objects';
import { resourceAmount } from '../quantity';
import { nodeSelectorTermsMatch } from '../selectors';
import { effectiveTaints, UNSCHEDULABLE_TAINT, untoleratedTaint } from './taints';

/** What the pods already on a node use, as the scheduler's NodeInfo does. */
export interface NodeUsage {
  pods: number;
  requests: Record<string, number>;
}

export type FitResult = { fits: true } | { fits: false; reasons: string[] };

const DEFAULT_MAX_PODS = 110;

export function emptyUsage(): NodeUsage {
  return { pods: 0, requests: {} };
}

/** Effective requests of a pod: max(sum of containers, largest init container) + overhead. */
export function podRequests(spec: PodSpec | undefined, field = 'spec'): Record<string, number> {
  const total: Record<string, number> = {};
  (spec?.containers ?? []).forEach((container, index) => {
    for (const [resource, value] of Object.entries(container.resources?.requests ?? {})) {
      total[resource] = (total[resource] ?? 0) + resourceAmount(resource, value, `${field}.containers[${index}].resources.requests.${resource}`);
    }
  });
  (spec?.initContainers ?? []).forEach((container, index) => {
    for (const [resource, value] of Object.entries(container.resources?.requests ?? {})) {
      const amount = resourceAmount(resource, value, `${field}.initContainers[${index}].resources.requests.${resource}`);
      total[resource] = Math.max(total[resource] ?? 0, amount);
    }
  });
  for (const [resource, value] of Object.entries(spec?.overhead ?? {})) {
    total[resource] = (total[resource] ?? 0) + resourceAmount(resource, value, `${field}.overhead.${resource}`);
  }
  return total;
}

export function addUsage(usage: NodeUsage, requests: Record<string, number>): void {
  usage.pods += 1;
  for (const [resource, amount] of Object.entries(requests)) usage.requests[resource] = (usage.requests[resource] ?? 0) + amount;
}

/** nodeSelector and required node affinity; both must hold. */
export function matchesNodeSelection(spec: PodSpec | undefined, node: Node, field = 'spec'): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [key, value] of Object.entries(spec?.nodeSelector ?? {})) if (labels[key] !== value) return false;
  const terms = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  return nodeSelectorTermsMatch(terms, labels, node.metadata?.name ?? '', `${field}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`);
}

function allocatable(node: Node): Record<string, string | number> {
  return { ...(node.status?.capacity ?? {}), ...(node.status?.allocatable ?? {}) };
}

/**
 * Requests beyond what the node has left. A resource the node does not report at all (a node object
 * created by hand, an edge that reports no capacity) is not checked, except the pod count (110).
 */
function insufficientResources(requests: Record<string, number>, node: Node, usage: NodeUsage): string[] {
  const reasons: string[] = [];
  const available = allocatable(node);
  const maxPods = available['pods'] === undefined ? DEFAULT_MAX_PODS : resourceAmount('pods', available['pods'], 'status.allocatable.pods');
  if (usage.pods + 1 > maxPods) reasons.push('Too many pods');
  for (const [resource, amount] of Object.entries(requests)) {
    if (amount <= 0 || available[resource] === undefined) continue;
    const capacity = resourceAmount(resource, available[resource], `status.allocatable.${resource}`);
    if ((usage.requests[resource] ?? 0) + amount > capacity) reasons.push(`Insufficient ${resource}`);
  }
  return reasons;
}

function describeTaint(key: string | undefined, value: string | undefined): string {
  return `{${key ?? ''}: ${value ?? ''}}`;
}

/** Whether the pod fits the node; the reasons use upstream's wording so the summary reads the same. */
export function podFitsNode(pod: Pod, requests: Record<string, number>, node: Node, usage: NodeUsage): FitResult {
  const spec = pod.spec;
  const taints = effectiveTaints(node);
  if (node.spec?.unschedulable === true && untoleratedTaint(taints.filter((taint) => taint.key === UNSCHEDULABLE_TAINT), spec?.tolerations, ['NoSchedule'])) {
    return { fits: false, reasons: ['node(s) were unschedulable'] };
  }
  if (!matchesNodeSelection(spec, node)) return { fits: false, reasons: ["node(s) didn't match Pod's node affinity/selector"] };
  const taint = untoleratedTaint(taints, spec?.tolerations, ['NoSchedule', 'NoExecute']);
  if (taint !== undefined) return { fits: false, reasons: [`node(s) had untolerated taint ${describeTaint(taint.key, taint.value)}`] };
  const insufficient = insufficientResources(requests, node, usage);
  return insufficient.length > 0 ? { fits: false, reasons: insufficient } : { fits: true };
}

/** "0/3 nodes are available: 2 node(s) didn't match ..., 1 node(s) had untolerated taint {...}." */
export function unschedulableMessage(nodeCount: number, reasonsPerNode: string[][]): string {
  if (nodeCount === 0) return 'no nodes available to schedule pods';
  const counts = new Map<string, number>();
  for (const reasons of reasonsPerNode) for (const reason of reasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  // upstream sorts the reasons alphabetically, each prefixed with its count
  const parts = [...counts.entries()].map(([reason, count]) => `${count} ${reason}`).sort();
  return `0/${nodeCount} nodes are available: ${parts.join(', ')}.`;
}

/** Least-loaded node: fewest pods, then the lowest share of requested cpu and memory, then the name. */
export function pickNode(candidates: Array<{ node: Node; usage: NodeUsage }>): Node | undefined {
  const share = (entry: { node: Node; usage: NodeUsage }, resource: string): number => {
    const available = allocatable(entry.node)[resource];
    if (available === undefined) return 0;
    const capacity = resourceAmount(resource, available, `status.allocatable.${resource}`);
    return capacity > 0 ? (entry.usage.requests[resource] ?? 0) / capacity : 0;
  };
  const sorted = [...candidates].sort(
    (a, b) =>
      a.usage.pods - b.usage.pods ||
      share(a, 'cpu') + share(a, 'memory') - (share(b, 'cpu') + share(b, 'memory')) ||
      (a.node.metadata?.name ?? '').localeCompare(b.node.metadata?.name ?? ''),
  );
  return sorted[0]?.node;
}

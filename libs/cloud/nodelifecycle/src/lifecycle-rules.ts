// The pure rules of the node lifecycle: what an unreachable node's conditions and taints become,
// and when (if ever) a pod of a non-autonomous node is evicted.
import { parseTime, rfc3339 } from '@kedge/kube-client';
import type { KubeObject } from '@kedge/kube-core';

export const UNREACHABLE_TAINT_KEY = 'node.kubernetes.io/unreachable';
export const NODE_STATUS_UNKNOWN_REASON = 'NodeStatusUnknown';
const UNKNOWN_MESSAGE = 'kedge: the edge node stopped renewing its lease (autonomous edge nodes keep their pods)';
/** the conditions a kubelet owns; Kubernetes turns all of them Unknown when the kubelet goes silent */
const KUBELET_CONDITIONS = new Set(['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure']);

export interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastHeartbeatTime?: unknown;
  lastTransitionTime?: unknown;
  [key: string]: unknown;
}

export interface Taint {
  key?: string;
  value?: string;
  effect?: string;
  timeAdded?: unknown;
}

export interface Toleration {
  key?: string;
  operator?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export function conditionsOf(node: KubeObject): Condition[] {
  const conditions = (node['status'] as { conditions?: unknown } | undefined)?.conditions;
  return Array.isArray(conditions) ? (conditions as Condition[]) : [];
}

export function readyCondition(node: KubeObject): Condition | undefined {
  return conditionsOf(node).find((c) => c.type === 'Ready');
}

export function taintsOf(node: KubeObject): Taint[] {
  const taints = (node['spec'] as { taints?: unknown } | undefined)?.taints;
  return Array.isArray(taints) ? (taints as Taint[]) : [];
}

/** The node's conditions with every kubelet condition Unknown (Ready added if it was missing). */
export function unknownConditions(node: KubeObject, now: number): Condition[] {
  const at = rfc3339(new Date(now));
  const unknown = (c: Condition): Condition => ({ ...c, status: 'Unknown', reason: NODE_STATUS_UNKNOWN_REASON, message: UNKNOWN_MESSAGE, lastTransitionTime: at });
  const conditions = conditionsOf(node).map((c) => (c.type !== undefined && KUBELET_CONDITIONS.has(c.type) && c.status !== 'Unknown' ? unknown(c) : c));
  if (!conditions.some((c) => c.type === 'Ready')) conditions.push(unknown({ type: 'Ready' }));
  return conditions;
}

export function hasTaint(taints: Taint[], key: string, effect: string): boolean {
  return taints.some((t) => t.key === key && t.effect === effect);
}

export function withUnreachableTaint(taints: Taint[], effect: 'NoSchedule' | 'NoExecute', now: number): Taint[] {
  if (hasTaint(taints, UNREACHABLE_TAINT_KEY, effect)) return taints;
  return [...taints, { key: UNREACHABLE_TAINT_KEY, effect, timeAdded: rfc3339(new Date(now)) }];
}

export function withoutUnreachableTaints(taints: Taint[]): Taint[] {
  return taints.filter((t) => t.key !== UNREACHABLE_TAINT_KEY);
}

/** When the node went Unknown, from the Ready condition (survives a controller restart). */
export function unknownSince(node: KubeObject): number | undefined {
  const ready = readyCondition(node);
  return ready?.status === 'Unknown' ? parseTime(ready.lastTransitionTime) : undefined;
}

/**
 * For a pod on a non-autonomous unreachable node: the time (ms) at which it is evicted, or
 * undefined for never. Like the taint manager: a pod tolerating unreachable:NoExecute without
 * tolerationSeconds stays; with tolerationSeconds it goes after them; a pod without a matching
 * toleration goes after evictionTimeoutMs (the role of DefaultTolerationSeconds in Kubernetes).
 */
export function evictionTime(pod: KubeObject, unknownAt: number, evictionTimeoutMs: number): number | undefined {
  const tolerations = ((pod['spec'] as { tolerations?: unknown } | undefined)?.tolerations ?? []) as Toleration[];
  const matching = (Array.isArray(tolerations) ? tolerations : []).filter(
    (t) =>
      (t.effect === undefined || t.effect === '' || t.effect === 'NoExecute') &&
      (t.key === UNREACHABLE_TAINT_KEY || ((t.key === undefined || t.key === '') && t.operator === 'Exists')),
  );
  if (matching.length === 0) return unknownAt + evictionTimeoutMs;
  if (matching.some((t) => t.tolerationSeconds === undefined || t.tolerationSeconds === null)) return undefined;
  const seconds = Math.max(...matching.map((t) => Math.max(0, t.tolerationSeconds ?? 0)));
  return unknownAt + seconds * 1_000;
}

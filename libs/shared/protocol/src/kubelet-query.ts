// The `kubelet` group on the hub: the cloud asks an edge for what a kubelet serves on its read
// endpoints (stats/summary, metrics/resource, pods) and the edge answers. Part of the wire protocol,
// so both sides take the names from here.
//
// cloud → edge: {group: kubelet, operation: query, resource: node/<node>/null/kubelet/<target>, content: null}
// edge → cloud: operation response with the answer as content (summary: the Summary JSON object;
// metrics-resource: the Prometheus text as a string; pods: a v1 PodList object), or operation error
// with a reason string.

export const KUBELET_QUERY_GROUP = 'kubelet';
export const KUBELET_QUERY_OPERATION = 'query';
/** the resource type segment of a kubelet query; the name segment is the target */
export const KUBELET_QUERY_TYPE = 'kubelet';

export type KubeletQueryTarget = 'summary' | 'metrics-resource' | 'pods';
export const KUBELET_QUERY_TARGETS: readonly KubeletQueryTarget[] = ['summary', 'metrics-resource', 'pods'];

export function isKubeletQueryTarget(value: unknown): value is KubeletQueryTarget {
  return typeof value === 'string' && (KUBELET_QUERY_TARGETS as readonly string[]).includes(value);
}

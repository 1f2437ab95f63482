// The read-only kubelet endpoints answered from the edge (over the hub), implemented outside cloudstream.
export interface NodeReadEndpoints {
  /** GET /pods: a PodList (JSON) of the pods the node runs */
  pods(node: string): Promise<unknown>;
  /** GET /stats/summary: the kubelet's stats/summary JSON */
  summary(node: string): Promise<unknown>;
  /** GET /metrics/resource: Prometheus text */
  resourceMetrics(node: string): Promise<string>;
}

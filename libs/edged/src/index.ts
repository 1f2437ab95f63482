// @kedge/edged: the node agent of edgecore. Today: the gateway's Node, its Lease and status.
// Pods on containerd through CRI come next (issue 5).
export { hostNode, hostNodeStatus, type HostNodeOptions } from './host-node';
export { NODE_STATUS_SOURCE, NodeStatusReporter, type NodeStatusReporterOptions, type StatusReporter } from './node-status-reporter';

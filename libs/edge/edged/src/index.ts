// @kedge/edged: the node agent of edgecore. Today: the gateway's Node, its Lease and status.
// Pods on containerd through CRI live in ./pods, image garbage collection in ./image-gc.
export { hostNode, hostNodeStatus, primaryHostIP, type HostNodeOptions } from './host-node';
export { NODE_STATUS_SOURCE, NodeStatusReporter, readySinceOf, type NodeStatusReporterOptions, type StatusReporter } from './node-status-reporter';
export * from './image-gc/index';
export * from './pods/index';
export * from './resource-stats/index';

// @kedge/nodelifecycle: the node lifecycle controller for autonomous edge nodes. It marks edge nodes
// whose Lease stopped being renewed Ready=Unknown and unreachable, and evicts pods only from nodes
// that opted out of autonomy. It runs against the embedded API server and against real clusters.
export { startNodeLifecycle, type NodeLifecycle, type StartNodeLifecycleParams } from './node-lifecycle';

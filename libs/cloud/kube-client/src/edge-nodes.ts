// How the cloud controllers recognize kedge edge nodes in the Kubernetes API: EdgeController registers
// them with the label and the annotation, NodeLifecycle reads them, and both use the node leases.

/** the label every edge Node carries; informers on edge nodes select on it */
export const EDGE_ROLE_LABEL = 'node-role.kubernetes.io/edge';
/** "false" turns autonomy off for a node; anything else (or absent) leaves it on */
export const AUTONOMY_ANNOTATION = 'kedge.io/autonomy';
/** where node Leases live (as in Kubernetes) */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

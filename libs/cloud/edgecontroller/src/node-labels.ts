// Which labels an edge may put on its own Node: Kubernetes' NodeRestriction rule for kubelets. Labels
// in the kubernetes.io and k8s.io namespaces are the cluster's to give (node-role.kubernetes.io/*
// would make a gateway a control-plane node for schedulers and operators); a kubelet may set only
// the well-known ones that describe the machine, and its hostname label must be its own name.
// Labels in any other namespace (site=plant-7, example.com/line=3) are the operator's and allowed.

const KUBELET_LABELS = new Set([
  'kubernetes.io/hostname',
  'kubernetes.io/arch',
  'kubernetes.io/os',
  'topology.kubernetes.io/region',
  'topology.kubernetes.io/zone',
  'node.kubernetes.io/instance-type',
  'node.kubernetes.io/windows-build',
]);
/** namespaces (and their subdomains) whose every label a kubelet may set */
const KUBELET_NAMESPACES = ['kubelet.kubernetes.io', 'node.kubernetes.io', 'beta.kubernetes.io', 'failure-domain.beta.kubernetes.io'];
/** never, whatever else allows it (NodeRestriction's own namespace) */
const RESTRICTED_NAMESPACE = 'node-restriction.kubernetes.io';
const HOSTNAME_LABEL = 'kubernetes.io/hostname';

function labelNamespace(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
}

function inNamespace(namespace: string, domain: string): boolean {
  return namespace === domain || namespace.endsWith(`.${domain}`);
}

/** Why the node may not set this label on itself, or undefined when it may. */
export function nodeLabelRefusal(nodeName: string, key: string, value: string): string | undefined {
  const namespace = labelNamespace(key);
  if (inNamespace(namespace, RESTRICTED_NAMESPACE)) return `label "${key}" is in ${RESTRICTED_NAMESPACE}, which only the cluster's administrators set`;
  if (key === HOSTNAME_LABEL && value !== nodeName) return `label "${HOSTNAME_LABEL}" must be the node's own name "${nodeName}", not "${value}"`;
  if (KUBELET_LABELS.has(key) || KUBELET_NAMESPACES.some((allowed) => inNamespace(namespace, allowed))) return undefined;
  if (inNamespace(namespace, 'kubernetes.io') || inNamespace(namespace, 'k8s.io')) {
    return `label "${key}" is in the ${namespace} namespace, which a node may not set on itself (NodeRestriction); set it with kubectl label node, or use a label outside kubernetes.io and k8s.io`;
  }
  return undefined;
}

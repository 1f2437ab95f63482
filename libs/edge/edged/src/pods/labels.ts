// The kubelet's own label and annotation keys: with them a sandbox or container found in the runtime
// names its pod and container, so edged can adopt it after a restart and any kubelet-aware tool reads it.
export const POD_UID_LABEL = 'io.kubernetes.pod.uid';
export const POD_NAME_LABEL = 'io.kubernetes.pod.name';
export const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
export const CONTAINER_NAME_LABEL = 'io.kubernetes.container.name';
/** An annotation, as the kubelet does: the restart count survives edgecore restarts in the runtime itself. */
export const RESTART_COUNT_ANNOTATION = 'io.kubernetes.container.restartCount';
/** What the container was created from; a different hash means the spec changed and it must be recreated. */
export const CONTAINER_HASH_ANNOTATION = 'io.kubernetes.container.hash';
/** Marks sandboxes and containers edged created, so GC never touches anything else on the runtime. */
export const MANAGED_LABEL = 'kedge.io/managed-by';
export const MANAGED_VALUE = 'edged';

export function podLabels(pod: { metadata: { uid: string; name: string; namespace: string } }): Record<string, string> {
  return {
    [POD_UID_LABEL]: pod.metadata.uid,
    [POD_NAME_LABEL]: pod.metadata.name,
    [POD_NAMESPACE_LABEL]: pod.metadata.namespace,
    [MANAGED_LABEL]: MANAGED_VALUE,
  };
}

export function restartCountOf(annotations: Record<string, string>): number {
  const value = Number(annotations[RESTART_COUNT_ANNOTATION] ?? '0');
  return Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

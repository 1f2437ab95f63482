// Typed failures of pod setup. The reason is the kubelet's waiting reason, so the pod status tells the
// operator the same thing a kubelet would (CreateContainerConfigError, ErrImagePull, ...).
export type PodSetupReason = 'CreateContainerConfigError' | 'ErrImagePull' | 'CreateContainerError' | 'RunContainerError';

/** Which defence refused, for kedge_edged_pod_security_refused_total; absent for ordinary setup failures. */
export type SecurityRefusal = 'unsafePath' | 'subPathEscape' | 'runAsNonRoot' | 'hostPath';

export class PodSetupError extends Error {
  override readonly name = 'PodSetupError';
  constructor(
    readonly reason: PodSetupReason,
    message: string,
    readonly refusal?: SecurityRefusal,
  ) {
    super(message);
  }
}

// Typed failures of pod setup. The reason is the kubelet's waiting reason, so the pod status tells the
// operator the same thing a kubelet would (CreateContainerConfigError, ErrImagePull, ...).
export type PodSetupReason = 'CreateContainerConfigError' | 'ErrImagePull' | 'CreateContainerError' | 'RunContainerError';

export class PodSetupError extends Error {
  override readonly name = 'PodSetupError';
  constructor(
    readonly reason: PodSetupReason,
    message: string,
  ) {
    super(message);
  }
}

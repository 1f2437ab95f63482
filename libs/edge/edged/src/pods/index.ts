// Pods on containerd through CRI: workers that converge each bound pod, adopt running containers after
// an edgecore restart, and recreate pods after a containerd restart.
export { DEFAULT_BACKOFF, restartDelayMs, type BackoffOptions } from './backoff';
export { PodSetupError, type PodSetupReason } from './errors';
export { CONTAINER_NAME_LABEL, POD_NAME_LABEL, POD_NAMESPACE_LABEL, POD_UID_LABEL, RESTART_COUNT_ANNOTATION } from './labels';
export { asPod, type Pod, type PodSpec } from './pod-spec';
export { POD_SECURITY_REFUSED, POD_WORKER_SOURCE, type PodApiAccess } from './pod-worker';
export { DEFAULT_TOKEN_SECONDS, needsRefresh, ServiceAccountTokens, type HeldToken, type ServiceAccountTokensOptions, type TokenIssuer } from './service-account-tokens';
export { envVariableName, serviceEnv, serviceVariables, type ServiceLink, type ServicePort } from './service-env';
export { admitPod, type PodSecurityPolicy, type Refusal, type RefusalReason } from './pod-security';
export { PodSecurityMetrics } from './pod-security-metrics';
export { localDescendingPathProblem } from './safe-paths';
export { PodWorkers, type PodWorkersOptions } from './pod-workers';

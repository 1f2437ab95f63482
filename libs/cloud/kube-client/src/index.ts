// @kedge/kube-client: what every cloud controller needs to talk to the Kubernetes API (a real cluster or
// kedge's embedded API server) through @kubernetes/client-node: raw-JSON lists, self-restarting and
// shared informers, the rate-limited work queue, the Event recorder, merge patches and error helpers.
export { clusterAccessReviews, type AccessDecision, type ClusterAccessReviews, type ReviewedUser } from './access-review';
export { AUTONOMY_ANNOTATION, EDGE_ROLE_LABEL, NODE_LEASE_NAMESPACE } from './edge-nodes';
export { KubeApiError, errorMessage, httpStatusOf, isConflict, isNotFound } from './errors';
export { EventRecorder, type EventRecorderOptions, type EventTarget, type EventType } from './event-recorder';
export { KeepAliveKubeConfig } from './keep-alive-kube-config';
export { KubeJson } from './kube-json';
export { microTime, parseTime, rfc3339 } from './kube-time';
export {
  DEFAULT_INFORMER_BACKOFF,
  ManagedInformer,
  type InformerBackoff,
  type InformerCache,
  type InformerEvent,
  type ManagedInformerOptions,
} from './managed-informer';
export { mergePatch } from './merge-patch';
export { SharedInformer, type SharedInformerListener, type SharedInformerOptions } from './shared-informer';
export { WorkQueue, type ReconcileOutcome, type WorkQueueOptions } from './work-queue';

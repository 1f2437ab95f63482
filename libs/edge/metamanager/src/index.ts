// @kedge/metamanager: the edge's durable copy of what the cloud pushed (MetaStore), the module that
// applies, ACKs and reports through a durable outbox (MetaManager), and the read-only local
// Kubernetes API over it (MetaServer).
export {
  BadMessageError,
  BadReportError,
  InvalidSelectorError,
  LocalRevisionCompactedError,
  MetaManagerError,
  StoreClosedError,
  type MetaManagerErrorCode,
} from './errors';
export { CORE_RESOURCES, type CoreResource, type StoredObject } from './kube-object';
export type { ObjectSelector } from './selectors';
export { MetaStore, type ApplyReason, type ApplyResult, type InventoryItem, type MetaStoreOptions } from './store/meta-store';
export type { ChangeEvent, ChangeEventType, ChangeListener } from './store/change-feed';
export type { OutboxEntry, OutboxTable } from './store/outbox-table';
export type { PodReviewTable, PruneResult, RememberedDecision, RememberedTokenReview } from './store/pod-review-table';
export { MetaManager, type MetaManagerOptions } from './meta-manager';
export type { CloudLink, RetryBackoff } from './outbox-sender';
export { CLOUD_RESOURCE_VERSION_ANNOTATION } from './metaserver/served-object';
export { ensureLocalCredential, kubeconfigFor, writeLocalKubeconfig, type LocalCredential } from './metaserver/local-credential';
export { startMetaServer, type MetaServer, type MetaServerOptions } from './metaserver/server';
export { CloudRefusedError, CloudUnavailableError, HubPodApiCloud, type PodApiCloud } from './pod-api/cloud-pod-api';
export { PodAccess, tokenDigest, tokenExpiryMs, type AuthenticationResult, type AuthorizationResult, type PodAccessOptions } from './pod-api/pod-access';

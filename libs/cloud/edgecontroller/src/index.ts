// @kedge/edgecontroller: the cloud side of cloud→edge sync (KubeEdge's EdgeController + reliable
// delivery, with resync by edge inventory) and the upstream handling of what edges report.
export {
  DEFAULT_DOWNSTREAM_OPTIONS,
  startEdgeController,
  type EdgeController,
  type EdgeControllerHub,
  type EdgeControllerOptions,
  type EdgeControllerStats,
  type StartEdgeControllerParams,
} from './edge-controller';
export type { DownstreamOptions, NodeSyncStats } from './downstream';
export { EdgeControllerError, UpstreamRefusedError, type UpstreamRefusal } from './errors';
export { INVENTORY_TYPE, parseInventory, type InventoryItem } from './inventory';
export { EDGECONTROLLER_SOURCE } from './node-queue';
export { nodeLabelRefusal } from './node-labels';
export { DEFAULT_EVENT_BUDGET, type EventBudgetOptions } from './upstream';
export { SYNC_TYPES, type SyncType } from './objects';
export { podReferences, type PodReferences } from './references';
export { EDGE_ADDRESSES_ANNOTATION, pointAtEndpoint, type NodeEndpoint, type NodeEndpointLookup } from './node-endpoint';

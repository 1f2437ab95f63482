// HTTP handlers of resource requests.
export { handleResourceRequest } from './resource-handler';
export { handlePodUpgrade } from './pod-stream-requests';
export { parseFieldSelectorOnly } from './query-options';
export { type HandlerServices, type ResourceRequest } from './request-context';

// HTTP handlers of resource requests.
export { handleResourceRequest } from './resource-handler';
export { handleConnectUpgrade } from './kubelet-requests';
export { parseFieldSelectorOnly } from './query-options';
export { type HandlerServices, type ResourceRequest } from './request-context';

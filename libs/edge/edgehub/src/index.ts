// @kedge/edgehub: the edge end of the cloud link: dial, keepalive, reconnect, routing to edge modules.
export { CloudUnreachableError, EdgeHub, EDGEHUB_SOURCE, type EdgeHubOptions } from './edge-hub';
export { EdgeHubMetrics } from './edgehub-metrics';

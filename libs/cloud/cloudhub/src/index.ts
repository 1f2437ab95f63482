// @kedge/cloudhub: the cloud end of the edge links: one session per node, keepalive, routing to modules.
export {
  CloudHub,
  CLOUDHUB_SOURCE,
  DEFAULT_INBOUND_LIMITS,
  NodeNotConnectedError,
  type CloudHubOptions,
  type InboundLimits,
  type NodeConnectionEvent,
  type PeerRefusal,
} from './cloud-hub';
export { CloudHubMetrics } from './cloudhub-metrics';
export type { NodeSessionInfo } from './node-session';

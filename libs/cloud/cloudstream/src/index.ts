// @kedge/cloudstream: kubectl logs/exec/attach/port-forward for edge pods, relayed over the node's hub session (KubeEdge's CloudStream),
// and the kubelet API cloudcore serves for edge nodes in front of it.
export { CloudStream, containerOf, type CloudStreamOptions } from './cloud-stream';
export { CloudStreamMetrics } from './cloudstream-metrics';
export { MalformedStreamFrameError, StreamRefusedError, UnknownStreamError } from './errors';
export type { PodStreamHandler, PodStreamTarget } from './pod-stream-handler';
export { PortForwardTunnel, type PortForwardTunnelOptions, type TunnelLink } from './port-forward-tunnel';
export { MAX_STREAM_CHUNK_BYTES, StreamTable, type StreamHub, type StreamSink, type StreamSpec, type StreamTableOptions } from './stream-table';
export {
  NodeQueries,
  NodeQueryError,
  NodeQueryMetrics,
  type NodeQueriesOptions,
  type NodeQueryHub,
  type NodeQueryResult,
} from './node-queries';
export {
  DEFAULT_KUBELET_API_PORT_RANGE_START,
  KubeletApiMetrics,
  KubeletApiServer,
  KubeletAuth,
  KubeletRequestError,
  PortRangeExhaustedError,
  authorizationSubresource,
  authorizationVerb,
  clusterAuthBackend,
  parseKubeletPath,
  type AccessDecision,
  type KubeletApiServerOptions,
  type KubeletAuthBackend,
  type KubeletCaller,
  type KubeletPod,
  type KubeletRefusal,
  type KubeletRoute,
  type NodeAccess,
  type NodeEndpoint,
  type NodeReadEndpoints,
} from './kubelet-api';

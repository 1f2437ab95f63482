// @kedge/cloudstream: kubectl logs/exec/attach/port-forward for edge pods, relayed over the node's hub session (KubeEdge's CloudStream).
export { CloudStream, containerOf, type CloudStreamOptions } from './cloud-stream';
export { CloudStreamMetrics } from './cloudstream-metrics';
export { MalformedStreamFrameError, StreamRefusedError, UnknownStreamError } from './errors';
export { PortForwardTunnel, type PortForwardTunnelOptions, type TunnelLink } from './port-forward-tunnel';
export { MAX_STREAM_CHUNK_BYTES, StreamTable, type StreamHub, type StreamSink, type StreamSpec, type StreamTableOptions } from './stream-table';
export {
  NodeQueries,
  NodeQueryError,
  NodeQueryMetrics,
  type NodeQueriesOptions,
  type NodeQueryHub,
  type NodeQueryResult,
  type NodeReadEndpoints,
} from './node-queries';

// @kedge/cloudstream: kubectl logs/exec for edge pods, relayed over the node's hub session (KubeEdge's CloudStream).
export { CloudStream, containerOf, type CloudStreamOptions } from './cloud-stream';
export { StreamRefusedError, UnknownStreamError } from './errors';
export { StreamTable, type StreamHub, type StreamSink, type StreamSpec, type StreamTableOptions } from './stream-table';
export {
  STREAM_GROUP,
  StreamOperation,
  type AckContent,
  type CloseContent,
  type DataContent,
  type ErrorContent,
  type ExecOptions,
  type LogOptions,
  type OpenContent,
  type StreamKind,
} from '@kedge/protocol';

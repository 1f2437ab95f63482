// @kedge/edgestream: the edge end of the kubectl logs/exec tunnel (KubeEdge's EdgeStream), over CRI.
export { EdgeStream, type EdgeStreamOptions } from './edge-stream';
export { exitFromStatus, startCriExec, type ExecHooks, type RunningExec } from './cri-exec';
export {
  CONTAINER_NAME_LABEL,
  POD_NAME_LABEL,
  POD_NAMESPACE_LABEL,
  containersOf,
  findContainer,
  formatLogLine,
  parseCriLogLine,
  streamCriLog,
  type CriLogLine,
} from './cri-log';
export { StreamFailure } from './errors';
export { Outbound } from './outbound';
export { STREAM_GROUP, StreamOperation } from '@kedge/protocol';

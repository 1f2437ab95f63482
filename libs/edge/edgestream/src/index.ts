// @kedge/edgestream: the edge end of the kubectl logs/exec/attach/port-forward tunnel (KubeEdge's EdgeStream), over CRI.
export { EdgeStream, type EdgeStreamOptions } from './edge-stream';
export { startCriAttach, startCriExec, type ExecHooks, type RunningExec } from './cri-exec';
export { dialRuntimeSpdy, streamTypesFor, RUNTIME_SPDY_PROTOCOL, type RuntimeSpdyEvents, type RuntimeSpdySession, type RuntimeStreams } from './runtime-spdy';
export { exitFromStatus, startRuntimeStream, type RunningRuntimeStream, type RuntimeStreamHooks, type RuntimeStreamRequest } from './runtime-stream';
export {
  CONTAINER_NAME_LABEL,
  POD_NAME_LABEL,
  POD_NAMESPACE_LABEL,
  containersOf,
  findContainer,
  formatLogLine,
  linesSince,
  logSinceMs,
  parseCriLogLine,
  streamCriLog,
  type CriLogLine,
} from './cri-log';
export { EdgeStreamMetrics } from './edgestream-metrics';
export { StreamFailure } from './errors';
export { acceptsInputChannel, parseOpenRequest, UnanswerableOpenError, type OpenRequest } from './open-request';
export { Outbound } from './outbound';
export { podAddress, startPortConnection, type PortConnectionHooks, type RunningPortConnection } from './pod-port-forward';

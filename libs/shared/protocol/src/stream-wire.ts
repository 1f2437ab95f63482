// The `stream` group on the hub: what cloudstream and edgestream say to each other about one kubectl
// logs/exec/attach stream, or one TCP connection of a port-forward. Part of the wire protocol, so both sides take it from here.

export const STREAM_GROUP = 'stream';

/**
 * cloud → edge: open; edge → cloud: ready, data, close, error; cloud → edge: data (stdin/resize), ack, close;
 * edge → cloud: ack, for portforward only (bytes from kubectl written to the pod's socket).
 */
export const StreamOperation = {
  Open: 'open',
  Ready: 'ready',
  Data: 'data',
  Ack: 'ack',
  Close: 'close',
  Error: 'error',
} as const;

export type StreamKind = 'log' | 'exec' | 'attach' | 'portforward';

export const STREAM_KINDS: readonly StreamKind[] = ['log', 'exec', 'attach', 'portforward'];

export interface LogOptions {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  limitBytes?: number;
}

export interface ExecOptions {
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** attach to the container's main process: the same streams as exec, without a command */
export type AttachOptions = Omit<ExecOptions, 'command'>;

/** one TCP connection to `port` of the pod (kubectl port-forward opens one stream per accepted connection) */
export interface PortForwardOptions {
  port: number;
}

export interface OpenContent {
  id: string;
  kind: StreamKind;
  /** '' for portforward, which reaches the pod's network, not a container */
  container: string;
  options: LogOptions | ExecOptions | AttachOptions | PortForwardOptions;
  /** bytes the edge may send before it must wait for an ack */
  window: number;
}

/**
 * channel: 0 stdin, 1 stdout, 2 stderr, 4 resize, 255 close-stdin (the kubectl channel numbers).
 * portforward: 0 bytes towards the pod, 1 bytes from the pod, 255 kubectl's side ended its writes.
 */
export interface DataContent {
  id: string;
  channel: number;
  data: string;
}

/** cloud → edge: bytes written to kubectl; edge → cloud (portforward): bytes written to the pod */
export interface AckContent {
  id: string;
  bytes: number;
}

export interface CloseContent {
  id: string;
  /** exec: the command's exit code (0 success); absent for logs */
  exitCode?: number;
  reason?: string;
}

export interface ErrorContent {
  id: string;
  /** HTTP status code to answer kubectl with (404 no such container, 400 bad request, 500 runtime) */
  code: number;
  message: string;
}

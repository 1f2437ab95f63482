// The `stream` group on the hub: what cloudstream and edgestream say to each other about one kubectl
// logs/exec stream. Part of the wire protocol, so both sides take it from here.

export const STREAM_GROUP = 'stream';

/** cloud → edge: open; edge → cloud: ready, data, close, error; cloud → edge: data (stdin/resize), ack, close. */
export const StreamOperation = {
  Open: 'open',
  Ready: 'ready',
  Data: 'data',
  Ack: 'ack',
  Close: 'close',
  Error: 'error',
} as const;

export type StreamKind = 'log' | 'exec';

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

export interface OpenContent {
  id: string;
  kind: StreamKind;
  container: string;
  options: LogOptions | ExecOptions;
  /** bytes the edge may send before it must wait for an ack */
  window: number;
}

/** channel: 0 stdin, 1 stdout, 2 stderr, 4 resize, 255 close-stdin (the kubectl channel numbers) */
export interface DataContent {
  id: string;
  channel: number;
  data: string;
}

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

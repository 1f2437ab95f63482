// The `stream` group on the hub: what cloudstream and edgestream say to each other about one kubectl
// logs/exec/attach stream, or one TCP connection of a port-forward. Part of the wire protocol, so both sides take it from here.
import { ProtocolError } from './errors';

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
  /** the last N lines of those shown (after `sinceSeconds`/`sinceTime`, as the kubelet) */
  tailLines?: number;
  limitBytes?: number;
  /** lines logged in the last N seconds of the edge's clock (the kubelet's clock decides, as upstream) */
  sinceSeconds?: number;
  /** lines logged at or after this RFC 3339 time; at most one of sinceSeconds and sinceTime */
  sinceTime?: string;
}

// metav1.Time's text form: RFC 3339 to the second, a fraction allowed
const RFC3339_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 time as Kubernetes writes one (`2006-01-02T15:04:05Z`, a fraction and an offset allowed). */
export function isRfc3339Time(text: string): boolean {
  return RFC3339_TIME.test(text) && !Number.isNaN(Date.parse(text));
}

function optionalCount(options: Record<string, unknown>, field: string, minimum: number): number | undefined {
  const value = options[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    throw new ProtocolError('INVALID_FIELD', `log option "${field}" must be an integer of at least ${minimum}, not ${JSON.stringify(value)?.slice(0, 40)}`, { field: `options.${field}` });
  }
  return value;
}

/**
 * The log options of an `open`, checked: booleans, counts, and at most one of sinceSeconds (≥ 1) and
 * sinceTime (RFC 3339). @throws ProtocolError INVALID_FIELD naming `options.<field>`
 */
export function parseLogOptions(options: Record<string, unknown>): LogOptions {
  const flag = (field: string): boolean => {
    const value = options[field] ?? false;
    if (typeof value !== 'boolean') throw new ProtocolError('INVALID_FIELD', `log option "${field}" must be a boolean, not ${JSON.stringify(value)?.slice(0, 40)}`, { field: `options.${field}` });
    return value;
  };
  const parsed: LogOptions = { follow: flag('follow'), previous: flag('previous'), timestamps: flag('timestamps') };
  const tailLines = optionalCount(options, 'tailLines', 0);
  const limitBytes = optionalCount(options, 'limitBytes', 0);
  const sinceSeconds = optionalCount(options, 'sinceSeconds', 1);
  const sinceTime = options['sinceTime'];
  if (sinceTime !== undefined && (typeof sinceTime !== 'string' || !isRfc3339Time(sinceTime))) {
    throw new ProtocolError('INVALID_FIELD', `log option "sinceTime" must be an RFC 3339 time (2006-01-02T15:04:05Z), not ${JSON.stringify(sinceTime)?.slice(0, 60)}`, { field: 'options.sinceTime' });
  }
  if (sinceSeconds !== undefined && sinceTime !== undefined) {
    throw new ProtocolError('INVALID_FIELD', 'at most one of log options "sinceSeconds" and "sinceTime" may be given', { field: 'options.sinceTime' });
  }
  if (tailLines !== undefined) parsed.tailLines = tailLines;
  if (limitBytes !== undefined) parsed.limitBytes = limitBytes;
  if (sinceSeconds !== undefined) parsed.sinceSeconds = sinceSeconds;
  if (sinceTime !== undefined) parsed.sinceTime = sinceTime;
  return parsed;
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

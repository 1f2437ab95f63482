// The border check of an `open` from the cloud: which pod, which kind, and options that make sense for
// that kind. Anything else is a StreamFailure 400 naming the field, answered on the stream and counted.
import { ProtocolError, STREAM_KINDS, parseLogOptions, type AttachOptions, type ExecOptions, type LogOptions, type OpenContent, type PortForwardOptions, type StreamKind } from '@kedge/protocol';
import { isRecord } from '@kedge/kube-core';
import { StreamFailure } from './errors';

export type OpenRequest = {
  id: string;
  namespace: string;
  podName: string;
  container: string;
  window: number | undefined;
} & (
  | { kind: 'log'; options: LogOptions }
  | { kind: 'exec'; options: ExecOptions }
  | { kind: 'attach'; options: AttachOptions }
  | { kind: 'portforward'; options: PortForwardOptions }
);

/** Thrown for an open that cannot even be answered: no usable stream id. */
export class UnanswerableOpenError extends Error {
  override readonly name = 'UnanswerableOpenError';
}

function bool(options: Record<string, unknown>, field: string, kind: string): boolean {
  const value = options[field] ?? false;
  if (typeof value !== 'boolean') throw new StreamFailure(400, `${kind} option "${field}" must be a boolean, not ${JSON.stringify(value)}`);
  return value;
}

function streamsOf(options: Record<string, unknown>, kind: string): AttachOptions {
  const parsed = { stdin: bool(options, 'stdin', kind), stdout: bool(options, 'stdout', kind), stderr: bool(options, 'stderr', kind), tty: bool(options, 'tty', kind) };
  if (!parsed.stdin && !parsed.stdout && !parsed.stderr) throw new StreamFailure(400, `${kind} needs at least one of stdin, stdout and stderr`);
  return parsed;
}

/** @throws UnanswerableOpenError without a stream id; StreamFailure 400 for anything else malformed */
export function parseOpenRequest(resource: string, content: unknown): OpenRequest {
  if (!isRecord(content) || typeof content.id !== 'string' || content.id === '') throw new UnanswerableOpenError('stream open without a stream id');
  const id = content.id;
  const [namespace = '', type, podName = '', ...rest] = resource.split('/');
  if (type !== 'pod' || namespace === '' || podName === '' || rest.length > 0) throw new StreamFailure(400, `stream ${id}: resource "${resource}" is not <namespace>/pod/<name>`);
  const kind = content.kind as StreamKind;
  if (!STREAM_KINDS.includes(kind)) throw new StreamFailure(400, `stream ${id}: unknown kind ${JSON.stringify(content.kind)}; expected one of ${STREAM_KINDS.join(', ')}`);
  const options = content.options;
  if (!isRecord(options)) throw new StreamFailure(400, `stream ${id}: ${kind} options must be an object`);
  const container = typeof content.container === 'string' ? content.container : '';
  if (kind !== 'portforward' && container === '') throw new StreamFailure(400, `stream ${id}: ${kind} needs a container name`);
  const window = typeof content.window === 'number' && Number.isInteger(content.window) && content.window > 0 ? content.window : undefined;
  const base = { id, namespace, podName, container, window };
  switch (kind) {
    case 'log': {
      let logOptions: LogOptions;
      try {
        logOptions = parseLogOptions(options);
      } catch (error) {
        if (error instanceof ProtocolError) throw new StreamFailure(400, `stream ${id}: ${error.message}`);
        throw error;
      }
      return { ...base, kind, options: logOptions };
    }
    case 'exec': {
      const command = options.command;
      if (!Array.isArray(command) || command.length === 0 || !command.every((part) => typeof part === 'string')) {
        throw new StreamFailure(400, `stream ${id}: exec needs a command (a non-empty list of strings)`);
      }
      return { ...base, kind, options: { ...streamsOf(options, kind), command: command as string[] } };
    }
    case 'attach':
      return { ...base, kind, options: streamsOf(options, kind) };
    case 'portforward': {
      const port = options.port;
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
        throw new StreamFailure(400, `stream ${id}: portforward option "port" must be an integer from 1 to 65535, not ${JSON.stringify(port)}`);
      }
      return { ...base, kind, options: { port } };
    }
  }
}

/** The channels kubectl's side may send on, per kind (stdin, resize, close-stdin; data and end for a port). */
export function acceptsInputChannel(kind: OpenContent['kind'], channel: number): boolean {
  if (kind === 'portforward') return channel === 0 || channel === 255;
  if (kind === 'exec' || kind === 'attach') return channel === 0 || channel === 4 || channel === 255;
  return false;
}

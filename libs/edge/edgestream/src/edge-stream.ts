// The edge end of the stream tunnel (KubeEdge's EdgeStream): takes `open` from the cloud on the hub's
// `stream` group, runs the log reader, the exec or attach, or the port-forward connection for the pod
// found through CRI labels, and sends ready/data/close/error back over the same hub connection, within
// the cloud's ack window.
import {
  STREAM_GROUP,
  StreamOperation,
  newMessage,
  type AckContent,
  type AttachOptions,
  type CloseContent,
  type DataContent,
  type ErrorContent,
  type ExecOptions,
  type LogOptions,
  type Message,
  type PortForwardOptions,
  type StreamKind,
} from '@kedge/protocol';
import type { MessageRouter } from '@kedge/router';
import type { CriClient } from '@kedge/cri';
import type { Logger } from '@kedge/telemetry';
import { startCriAttach, startCriExec, type RunningExec } from './cri-exec';
import { findContainer, streamCriLog } from './cri-log';
import { EdgeStreamMetrics } from './edgestream-metrics';
import { StreamFailure } from './errors';
import { acceptsInputChannel, parseOpenRequest, UnanswerableOpenError, type OpenRequest } from './open-request';
import { Outbound } from './outbound';
import { podAddress, startPortConnection } from './pod-port-forward';

const STREAM_SOURCE = 'edgestream';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export interface EdgeStreamOptions {
  /** EdgeHub.send */
  send(message: Message): Promise<void>;
  router: MessageRouter;
  cri: Pick<CriClient, 'listContainers' | 'containerStatus' | 'exec' | 'execSync' | 'attach' | 'listPodSandbox' | 'podSandboxStatus'>;
  logger: Logger;
  /** most concurrent streams on this node (default 32); each port-forward connection is one stream */
  maxStreams?: number;
  metrics?: EdgeStreamMetrics;
}

interface EdgeStreamState {
  id: string;
  kind: StreamKind;
  resource: string;
  outbound: Outbound;
  cancelled: boolean;
  /** the running exec, attach or port connection: where kubectl's input goes */
  session?: RunningExec;
  pendingInput: Array<[number, Buffer]>;
}

const DEFAULT_WINDOW = 256 * 1024;

export class EdgeStream {
  readonly metrics: EdgeStreamMetrics;
  private readonly streams = new Map<string, EdgeStreamState>();
  private readonly unregister: () => void;

  constructor(private readonly options: EdgeStreamOptions) {
    this.metrics = options.metrics ?? new EdgeStreamMetrics();
    this.unregister = options.router.register(STREAM_GROUP, (message) => this.receive(message));
  }

  get openStreams(): number {
    return this.streams.size;
  }

  close(): void {
    this.unregister();
    for (const stream of [...this.streams.values()]) this.stop(stream, 'cancelled');
  }

  private receive(message: Message): void {
    const operation = message.route.operation;
    const content = (message.content ?? {}) as { id?: unknown };
    const id = typeof content.id === 'string' ? content.id : '';
    const stream = this.streams.get(id);
    switch (operation) {
      case StreamOperation.Open:
        this.open(message.route.resource, message.content);
        return;
      case StreamOperation.Ack:
        stream?.outbound.ack(Number((message.content as AckContent).bytes) || 0);
        return;
      case StreamOperation.Data: {
        if (!stream) return;
        const { channel, data } = message.content as Partial<DataContent>;
        if (typeof channel !== 'number' || !acceptsInputChannel(stream.kind, channel) || typeof data !== 'string' || !BASE64.test(data)) {
          this.refuse(operation, 'bad-data', { id, kind: stream.kind, channel }, `${stream.kind} stream ${id}: refused data frame (channel ${String(channel)}, base64 payload expected)`);
          return;
        }
        const bytes = Buffer.from(data, 'base64');
        // input may arrive while the session is still being set up: keep it until then
        if (stream.session) stream.session.input(channel, bytes);
        else stream.pendingInput.push([channel, bytes]);
        return;
      }
      case StreamOperation.Close:
        if (stream) this.stop(stream, 'cancelled');
        return;
      default:
        // error answers from the cloud (e.g. to a stream it already forgot) need nothing more
        return;
    }
  }

  private refuse(operation: string, reason: string, context: Record<string, unknown>, text: string): void {
    this.metrics.refusedFrames.inc({ operation, reason });
    this.options.logger.warn({ ...context, reason }, text);
  }

  private open(resource: string, content: unknown): void {
    const { logger } = this.options;
    let request: OpenRequest;
    try {
      request = parseOpenRequest(resource, content);
    } catch (error) {
      const message = (error as Error).message;
      if (error instanceof UnanswerableOpenError) {
        this.refuse(StreamOperation.Open, 'no-id', { resource }, message);
        return;
      }
      this.refuse(StreamOperation.Open, 'bad-open', { resource }, message);
      const id = String((content as { id: string }).id);
      void this.answer(resource, StreamOperation.Error, { id, code: error instanceof StreamFailure ? error.code : 400, message } satisfies ErrorContent);
      return;
    }
    const { id } = request;
    if (this.streams.has(id)) {
      this.refuse(StreamOperation.Open, 'duplicate-id', { id, resource }, `stream ${id} is already open`);
      return;
    }
    const stream: EdgeStreamState = {
      id,
      kind: request.kind,
      resource,
      cancelled: false,
      pendingInput: [],
      outbound: new Outbound(request.window ?? DEFAULT_WINDOW, (channel, data) => this.send(stream, StreamOperation.Data, { id, channel, data: data.toString('base64') } satisfies DataContent)),
    };
    if (this.streams.size >= (this.options.maxStreams ?? 32)) {
      void this.send(stream, StreamOperation.Error, { id, code: 429, message: 'this edge node has too many open streams' } satisfies ErrorContent);
      return;
    }
    this.streams.set(id, stream);
    this.metrics.opened.inc({ kind: request.kind });
    logger.debug({ id, resource, kind: request.kind, container: request.container }, 'stream opened');
    const run = this.run(stream, request);
    run.catch((error: unknown) => {
      if (!this.streams.has(id)) return;
      this.forget(stream, 'failed');
      const code = error instanceof StreamFailure ? error.code : 500;
      const message = error instanceof Error ? error.message : String(error);
      logger.debug({ id, code, error: message }, 'stream failed');
      void this.send(stream, StreamOperation.Error, { id, code, message } satisfies ErrorContent);
    });
  }

  private run(stream: EdgeStreamState, request: OpenRequest): Promise<void> {
    switch (request.kind) {
      case 'log':
        return this.runLog(stream, request.namespace, request.podName, request.container, request.options);
      case 'exec':
        return this.runProcess(stream, request.namespace, request.podName, request.container, request.options);
      case 'attach':
        return this.runProcess(stream, request.namespace, request.podName, request.container, request.options);
      case 'portforward':
        return this.runPortForward(stream, request.namespace, request.podName, request.options);
    }
  }

  private async runLog(stream: EdgeStreamState, namespace: string, podName: string, containerName: string, options: LogOptions): Promise<void> {
    const container = await findContainer(this.options.cri, namespace, podName, containerName, options.previous);
    const status = await this.options.cri.containerStatus(container.id);
    if (!status.logPath) throw new StreamFailure(404, `container "${containerName}" of pod ${namespace}/${podName} has no log file`);
    await this.send(stream, StreamOperation.Ready, { id: stream.id });
    await streamCriLog(this.options.cri, container.id, status.logPath, options, {
      write: (text) => stream.outbound.write(1, Buffer.from(text)),
      cancelled: () => stream.cancelled,
    });
    this.end(stream, {});
  }

  /** exec (with a command) or attach (without one) */
  private async runProcess(stream: EdgeStreamState, namespace: string, podName: string, containerName: string, options: ExecOptions | AttachOptions): Promise<void> {
    const container = await findContainer(this.options.cri, namespace, podName, containerName);
    if (container.state !== 'CONTAINER_RUNNING') throw new StreamFailure(400, `container "${containerName}" of pod ${namespace}/${podName} is not running`);
    if (stream.cancelled) return;
    const hooks = {
      ready: () => void this.send(stream, StreamOperation.Ready, { id: stream.id }),
      output: (channel: number, data: Buffer) => stream.outbound.write(channel, data),
      finished: (exitCode: number | undefined, reason?: string) => {
        if (exitCode === undefined) this.end(stream, { reason: reason ?? `${stream.kind} failed` });
        else this.end(stream, { exitCode });
      },
      refused: (detail: string) => {
        this.metrics.refusedFrames.inc({ operation: 'runtime', reason: 'bad-runtime-frame' });
        this.options.logger.warn({ id: stream.id, kind: stream.kind }, `${stream.kind} stream ${stream.id}: refused a frame from the container runtime: ${detail}`);
      },
    };
    stream.session = 'command' in options ? startCriExec(this.options.cri, container.id, options, hooks) : startCriAttach(this.options.cri, container.id, options, hooks);
    for (const [channel, data] of stream.pendingInput.splice(0)) stream.session.input(channel, data);
  }

  private async runPortForward(stream: EdgeStreamState, namespace: string, podName: string, options: PortForwardOptions): Promise<void> {
    const host = await podAddress(this.options.cri, namespace, podName);
    if (stream.cancelled) return;
    stream.session = startPortConnection(host, options.port, {
      connected: () => void this.send(stream, StreamOperation.Ready, { id: stream.id }),
      output: (data) => stream.outbound.write(1, data),
      written: (bytes) => {
        if (this.streams.has(stream.id)) void this.send(stream, StreamOperation.Ack, { id: stream.id, bytes } satisfies AckContent);
      },
      finished: (error) => {
        if (error === undefined) {
          this.end(stream, {});
          return;
        }
        // the pod refused or dropped the connection: an answer on the port's error stream, not a broken forward
        if (!this.streams.has(stream.id)) return;
        this.forget(stream, 'failed');
        void this.send(stream, StreamOperation.Error, { id: stream.id, code: 502, message: `error forwarding port ${options.port} to pod ${namespace}/${podName}: ${error}` } satisfies ErrorContent);
      },
    });
    for (const [channel, data] of stream.pendingInput.splice(0)) stream.session.input(channel, data);
  }

  private end(stream: EdgeStreamState, close: Omit<CloseContent, 'id'>): void {
    if (!this.streams.has(stream.id)) return;
    this.forget(stream, 'closed');
    void this.send(stream, StreamOperation.Close, { id: stream.id, ...close } satisfies CloseContent);
  }

  private stop(stream: EdgeStreamState, outcome: 'cancelled' | 'failed'): void {
    this.forget(stream, outcome);
    stream.session?.cancel();
  }

  private forget(stream: EdgeStreamState, outcome: 'closed' | 'cancelled' | 'failed'): void {
    if (this.streams.delete(stream.id)) this.metrics.ended.inc({ kind: stream.kind, outcome });
    stream.cancelled = true;
    stream.outbound.stop();
  }

  private answer(resource: string, operation: string, content: unknown): Promise<void> {
    const message = newMessage({ source: STREAM_SOURCE, group: STREAM_GROUP, operation, resource, content });
    return this.options.send(message).catch((error: unknown) => {
      this.options.logger.debug({ resource, operation, error: (error as Error).message }, 'stream answer not sent');
    });
  }

  private async send(stream: EdgeStreamState, operation: string, content: unknown): Promise<void> {
    const message = newMessage({ source: STREAM_SOURCE, group: STREAM_GROUP, operation, resource: stream.resource, content });
    try {
      await this.options.send(message);
    } catch (error) {
      this.options.logger.debug({ id: stream.id, operation, error: (error as Error).message }, 'stream message not sent; stopping the stream');
      this.stop(stream, 'failed');
    }
  }
}

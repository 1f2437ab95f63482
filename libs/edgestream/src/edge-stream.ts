// The edge end of the stream tunnel (KubeEdge's EdgeStream): takes `open` from the cloud on the hub's
// `stream` group, runs the log reader or the exec for the pod's container found through CRI labels, and
// sends ready/data/close/error back over the same hub connection, within the cloud's ack window.
import {
  STREAM_GROUP,
  StreamOperation,
  newMessage,
  type AckContent,
  type CloseContent,
  type DataContent,
  type ErrorContent,
  type ExecOptions,
  type LogOptions,
  type Message,
  type OpenContent,
} from '@kedge/protocol';
import type { MessageRouter } from '@kedge/router';
import type { CriClient } from '@kedge/cri';
import type { Logger } from '@kedge/telemetry';
import { startCriExec, type RunningExec } from './cri-exec';
import { findContainer, streamCriLog } from './cri-log';
import { StreamFailure } from './errors';
import { Outbound } from './outbound';

const STREAM_SOURCE = 'edgestream';

export interface EdgeStreamOptions {
  /** EdgeHub.send */
  send(message: Message): Promise<void>;
  router: MessageRouter;
  cri: Pick<CriClient, 'listContainers' | 'containerStatus' | 'exec' | 'execSync'>;
  logger: Logger;
  /** most concurrent streams on this node (default 32) */
  maxStreams?: number;
}

interface EdgeStreamState {
  id: string;
  resource: string;
  outbound: Outbound;
  cancelled: boolean;
  exec?: RunningExec;
  pendingInput: Array<[number, Buffer]>;
}

const DEFAULT_WINDOW = 256 * 1024;

export class EdgeStream {
  private readonly streams = new Map<string, EdgeStreamState>();
  private readonly unregister: () => void;

  constructor(private readonly options: EdgeStreamOptions) {
    this.unregister = options.router.register(STREAM_GROUP, (message) => this.receive(message));
  }

  get openStreams(): number {
    return this.streams.size;
  }

  close(): void {
    this.unregister();
    for (const stream of [...this.streams.values()]) this.stop(stream);
  }

  private receive(message: Message): void {
    const content = (message.content ?? {}) as { id?: unknown };
    const id = typeof content.id === 'string' ? content.id : '';
    const stream = this.streams.get(id);
    switch (message.route.operation) {
      case StreamOperation.Open:
        this.open(message.route.resource, message.content as OpenContent);
        return;
      case StreamOperation.Ack:
        stream?.outbound.ack(Number((message.content as AckContent).bytes) || 0);
        return;
      case StreamOperation.Data: {
        const { channel, data } = message.content as DataContent;
        const bytes = Buffer.from(String(data), 'base64');
        // stdin may arrive while the exec is still being set up: keep it until then
        if (stream?.exec) stream.exec.input(Number(channel), bytes);
        else stream?.pendingInput.push([Number(channel), bytes]);
        return;
      }
      case StreamOperation.Close:
        if (stream) this.stop(stream);
        return;
      default:
        // error answers from the cloud (e.g. to a stream it already forgot) need nothing more
        return;
    }
  }

  private open(resource: string, content: OpenContent): void {
    const { logger } = this.options;
    const [namespace = '', type, podName = ''] = resource.split('/');
    const id = String(content.id);
    if (type !== 'pod' || !podName || this.streams.has(id)) return;
    const window = Number.isInteger(content.window) && content.window > 0 ? content.window : DEFAULT_WINDOW;
    const stream: EdgeStreamState = {
      id,
      resource,
      cancelled: false,
      pendingInput: [],
      outbound: new Outbound(window, (channel, data) => this.send(stream, StreamOperation.Data, { id, channel, data: data.toString('base64') } satisfies DataContent)),
    };
    if (this.streams.size >= (this.options.maxStreams ?? 32)) {
      void this.send(stream, StreamOperation.Error, { id, code: 429, message: 'this edge node has too many open streams' } satisfies ErrorContent);
      return;
    }
    this.streams.set(id, stream);
    logger.debug({ id, resource, kind: content.kind, container: content.container }, 'stream opened');
    const run = content.kind === 'exec' ? this.runExec(stream, namespace, podName, content) : this.runLog(stream, namespace, podName, content);
    run.catch((error: unknown) => {
      if (!this.streams.has(id)) return;
      this.forget(stream);
      const code = error instanceof StreamFailure ? error.code : 500;
      const message = error instanceof Error ? error.message : String(error);
      logger.debug({ id, code, error: message }, 'stream failed');
      void this.send(stream, StreamOperation.Error, { id, code, message } satisfies ErrorContent);
    });
  }

  private async runLog(stream: EdgeStreamState, namespace: string, podName: string, content: OpenContent): Promise<void> {
    const options = content.options as LogOptions;
    const container = await findContainer(this.options.cri, namespace, podName, content.container, options.previous);
    const status = await this.options.cri.containerStatus(container.id);
    if (!status.logPath) throw new StreamFailure(404, `container "${content.container}" of pod ${namespace}/${podName} has no log file`);
    await this.send(stream, StreamOperation.Ready, { id: stream.id });
    await streamCriLog(this.options.cri, container.id, status.logPath, options, {
      write: (text) => stream.outbound.write(1, Buffer.from(text)),
      cancelled: () => stream.cancelled,
    });
    this.end(stream, {});
  }

  private async runExec(stream: EdgeStreamState, namespace: string, podName: string, content: OpenContent): Promise<void> {
    const options = content.options as ExecOptions;
    if (!Array.isArray(options.command) || options.command.length === 0) throw new StreamFailure(400, 'exec needs a command');
    const container = await findContainer(this.options.cri, namespace, podName, content.container);
    if (container.state !== 'CONTAINER_RUNNING') throw new StreamFailure(400, `container "${content.container}" of pod ${namespace}/${podName} is not running`);
    if (stream.cancelled) return;
    stream.exec = startCriExec(this.options.cri, container.id, options, {
      ready: () => void this.send(stream, StreamOperation.Ready, { id: stream.id }),
      output: (channel, data) => stream.outbound.write(channel, data),
      finished: (exitCode, reason) => {
        if (exitCode === undefined) this.end(stream, { reason: reason ?? 'exec failed' });
        else this.end(stream, { exitCode });
      },
    });
    for (const [channel, data] of stream.pendingInput.splice(0)) stream.exec.input(channel, data);
  }

  private end(stream: EdgeStreamState, close: Omit<CloseContent, 'id'>): void {
    if (!this.streams.has(stream.id)) return;
    this.forget(stream);
    void this.send(stream, StreamOperation.Close, { id: stream.id, ...close } satisfies CloseContent);
  }

  private stop(stream: EdgeStreamState): void {
    this.forget(stream);
    stream.exec?.cancel();
  }

  private forget(stream: EdgeStreamState): void {
    stream.cancelled = true;
    stream.outbound.stop();
    this.streams.delete(stream.id);
  }

  private async send(stream: EdgeStreamState, operation: string, content: unknown): Promise<void> {
    const message = newMessage({ source: STREAM_SOURCE, group: STREAM_GROUP, operation, resource: stream.resource, content });
    try {
      await this.options.send(message);
    } catch (error) {
      this.options.logger.debug({ id: stream.id, operation, error: (error as Error).message }, 'stream message not sent; stopping the stream');
      this.stop(stream);
    }
  }
}

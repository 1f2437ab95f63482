// The cloud's open streams: opens them on the pod's node through CloudHub, routes what the node
// sends back to the right stream (only to streams of that node), acks data once it is written, and
// fails every stream of a node that disconnects.
import { randomUUID } from 'node:crypto';
import type { MessageRouter } from '@kedge/router';
import type { Logger } from '@kedge/telemetry';
import {
  STREAM_GROUP,
  StreamOperation,
  newMessage,
  parseCloudResource,
  type CloseContent,
  type DataContent,
  type ErrorContent,
  type ExecOptions,
  type LogOptions,
  type Message,
  type StreamKind,
} from '@kedge/protocol';
import { StreamRefusedError, UnknownStreamError } from './errors';

const STREAM_SOURCE = 'cloudstream';

/** What cloudstream needs of CloudHub. */
export interface StreamHub {
  sendToNode(message: Message): Promise<void>;
  isConnected(nodeName: string): boolean;
  onNodeConnection(observer: (event: { type: 'connected' | 'disconnected'; nodeName: string }) => void): () => void;
}

/** Where one stream's output goes (an HTTP response for logs, a WebSocket for exec). */
export interface StreamSink {
  ready(): void;
  /** write `data`, then call `written` so the edge may send more */
  data(channel: number, data: Buffer, written: () => void): void;
  closed(content: CloseContent): void;
  failed(code: number, message: string): void;
}

export interface StreamTableOptions {
  hub: StreamHub;
  router: MessageRouter;
  logger: Logger;
  /** most concurrent streams per node (default 32) */
  maxStreamsPerNode?: number;
  /** bytes the edge may have in flight per stream (default 256 KiB) */
  windowBytes?: number;
  /** the cloud acks after this many written bytes (default 32 KiB) */
  ackEveryBytes?: number;
  /** an edge that neither readies nor fails a stream in this time fails it with 504 (default 30 s) */
  openTimeoutMs?: number;
}

export interface StreamSpec {
  nodeName: string;
  namespace: string;
  podName: string;
  kind: StreamKind;
  container: string;
  options: LogOptions | ExecOptions;
}

interface ActiveStream extends StreamSpec {
  id: string;
  resource: string;
  sink: StreamSink;
  isReady: boolean;
  unacked: number;
  openTimer: NodeJS.Timeout | undefined;
}

export class StreamTable {
  private readonly streams = new Map<string, ActiveStream>();
  private readonly unregister: Array<() => void> = [];
  private readonly maxPerNode: number;
  private readonly windowBytes: number;
  private readonly ackEvery: number;
  private readonly openTimeoutMs: number;

  constructor(private readonly options: StreamTableOptions) {
    this.maxPerNode = options.maxStreamsPerNode ?? 32;
    this.windowBytes = options.windowBytes ?? 256 * 1024;
    this.ackEvery = options.ackEveryBytes ?? 32 * 1024;
    this.openTimeoutMs = options.openTimeoutMs ?? 30_000;
    this.unregister.push(options.router.register(STREAM_GROUP, (message) => this.receive(message)));
    this.unregister.push(
      options.hub.onNodeConnection((event) => {
        if (event.type === 'disconnected') this.failNode(event.nodeName, 503, `edge node "${event.nodeName}" disconnected`);
      }),
    );
  }

  countFor(nodeName: string): number {
    let count = 0;
    for (const stream of this.streams.values()) if (stream.nodeName === nodeName) count += 1;
    return count;
  }

  /** @throws StreamRefusedError when a stream to the node cannot be opened now */
  admit(spec: StreamSpec): void {
    if (!this.options.hub.isConnected(spec.nodeName)) {
      throw new StreamRefusedError(503, `edge node "${spec.nodeName}" of pod ${spec.namespace}/${spec.podName} has no live session with cloudcore; try again when it is connected`);
    }
    if (this.countFor(spec.nodeName) >= this.maxPerNode) {
      throw new StreamRefusedError(429, `edge node "${spec.nodeName}" already has ${this.maxPerNode} open streams; close some and try again`);
    }
  }

  /** Opens a stream on the node; returns its id. @throws StreamRefusedError (503 no session, 429 too many) */
  open(spec: StreamSpec, sink: StreamSink): string {
    this.admit(spec);
    const id = randomUUID();
    const stream: ActiveStream = {
      ...spec,
      id,
      resource: `node/${spec.nodeName}/${spec.namespace}/pod/${spec.podName}`,
      sink,
      isReady: false,
      unacked: 0,
      openTimer: undefined,
    };
    stream.openTimer = setTimeout(() => this.fail(id, 504, `edge node "${spec.nodeName}" did not open the ${spec.kind} stream in time`), this.openTimeoutMs);
    stream.openTimer.unref();
    this.streams.set(id, stream);
    this.options.logger.debug({ id, nodeName: spec.nodeName, pod: `${spec.namespace}/${spec.podName}`, kind: spec.kind }, 'opening stream');
    this.sendTo(stream, StreamOperation.Open, { id, kind: spec.kind, container: spec.container, options: spec.options, window: this.windowBytes });
    return id;
  }

  /** stdin, resize or close-stdin from kubectl to the edge */
  sendData(id: string, channel: number, data: Buffer): void {
    const stream = this.streams.get(id);
    if (stream) this.sendTo(stream, StreamOperation.Data, { id, channel, data: data.toString('base64') } satisfies DataContent);
  }

  /** kubectl went away: forget the stream and tell the edge to stop. */
  cancel(id: string, reason: string): void {
    const stream = this.remove(id);
    if (stream) this.sendTo(stream, StreamOperation.Close, { id, reason } satisfies CloseContent);
  }

  close(): void {
    for (const stream of [...this.streams.values()]) this.fail(stream.id, 503, 'cloudcore is shutting down');
    for (const unregister of this.unregister) unregister();
  }

  private receive(message: Message): void {
    const { node } = parseCloudResource(message.route.resource);
    const operation = message.route.operation;
    const content = (message.content ?? {}) as { id?: unknown };
    const id = typeof content.id === 'string' ? content.id : '';
    const stream = this.streams.get(id);
    // edges answer streams; they never open one, and never touch a stream of another node
    if (!stream || stream.nodeName !== node || operation === StreamOperation.Open) {
      throw new UnknownStreamError(node, id, operation);
    }
    switch (operation) {
      case StreamOperation.Ready:
        this.markReady(stream);
        return;
      case StreamOperation.Data: {
        this.markReady(stream);
        const { channel, data } = message.content as DataContent;
        const bytes = Buffer.from(String(data), 'base64');
        stream.sink.data(Number(channel), bytes, () => this.written(stream, bytes.length));
        return;
      }
      case StreamOperation.Close:
        this.remove(id);
        stream.sink.closed(message.content as CloseContent);
        return;
      case StreamOperation.Error: {
        const { code, message: reason } = message.content as ErrorContent;
        this.remove(id);
        stream.sink.failed(typeof code === 'number' ? code : 500, String(reason));
        return;
      }
      default:
        throw new UnknownStreamError(node, id, operation);
    }
  }

  private markReady(stream: ActiveStream): void {
    if (stream.isReady) return;
    stream.isReady = true;
    clearTimeout(stream.openTimer);
    stream.sink.ready();
  }

  private written(stream: ActiveStream, bytes: number): void {
    if (!this.streams.has(stream.id)) return;
    stream.unacked += bytes;
    if (stream.unacked < this.ackEvery) return;
    const acked = stream.unacked;
    stream.unacked = 0;
    this.sendTo(stream, StreamOperation.Ack, { id: stream.id, bytes: acked });
  }

  private fail(id: string, code: number, message: string): void {
    const stream = this.remove(id);
    if (!stream) return;
    this.sendTo(stream, StreamOperation.Close, { id, reason: message } satisfies CloseContent);
    stream.sink.failed(code, message);
  }

  private failNode(nodeName: string, code: number, message: string): void {
    for (const stream of [...this.streams.values()]) {
      if (stream.nodeName !== nodeName) continue;
      this.remove(stream.id);
      stream.sink.failed(code, message);
    }
  }

  private remove(id: string): ActiveStream | undefined {
    const stream = this.streams.get(id);
    if (!stream) return undefined;
    clearTimeout(stream.openTimer);
    this.streams.delete(id);
    return stream;
  }

  private sendTo(stream: ActiveStream, operation: string, content: unknown): void {
    const message = newMessage({ source: STREAM_SOURCE, group: STREAM_GROUP, operation, resource: stream.resource, content });
    this.options.hub.sendToNode(message).catch((error: unknown) => {
      this.options.logger.debug({ id: stream.id, operation, error: (error as Error).message }, 'stream message not sent');
      if (operation !== StreamOperation.Close && this.streams.has(stream.id)) {
        this.remove(stream.id);
        stream.sink.failed(503, `edge node "${stream.nodeName}" cannot be reached: ${(error as Error).message}`);
      }
    });
  }
}

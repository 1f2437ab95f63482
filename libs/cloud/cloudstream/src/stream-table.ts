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
  type AttachOptions,
  type DataContent,
  type ErrorContent,
  type ExecOptions,
  type LogOptions,
  type Message,
  type PortForwardOptions,
  type StreamKind,
} from '@kedge/protocol';
import { CloudStreamMetrics } from './cloudstream-metrics';
import { MalformedStreamFrameError, StreamRefusedError, UnknownStreamError } from './errors';

const STREAM_SOURCE = 'cloudstream';
/** the largest `data` payload an edge sends (edgestream cuts its output into chunks of this size) */
export const MAX_STREAM_CHUNK_BYTES = 64 * 1024;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The channels an edge may send output on, per kind. */
const OUTPUT_CHANNELS: Record<StreamKind, readonly number[]> = { log: [1], exec: [1, 2], attach: [1, 2], portforward: [1] };

/** What cloudstream needs of CloudHub. */
export interface StreamHub {
  sendToNode(message: Message): Promise<void>;
  isConnected(nodeName: string): boolean;
  onNodeConnection(observer: (event: { type: 'connected' | 'disconnected'; nodeName: string }) => void): () => void;
}

/** Where one stream's output goes (an HTTP response for logs, a WebSocket for exec/attach, a SPDY stream pair for a forwarded connection). */
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
  metrics?: CloudStreamMetrics;
}

export interface StreamSpec {
  nodeName: string;
  namespace: string;
  podName: string;
  kind: StreamKind;
  container: string;
  options: LogOptions | ExecOptions | AttachOptions | PortForwardOptions;
}

interface ActiveStream extends StreamSpec {
  id: string;
  resource: string;
  sink: StreamSink;
  isReady: boolean;
  unacked: number;
  /** bytes the edge sent that the cloud has not acked yet: the edge may only send while this is below the window */
  outstanding: number;
  openTimer: NodeJS.Timeout | undefined;
  /** portforward: bytes sent towards the pod, and how many of them the edge has written to the pod's socket */
  uploadSent: number;
  uploadAcked: number;
  uploadWaiters: Array<{ offset: number; resolve: () => void }>;
}

export class StreamTable {
  readonly metrics: CloudStreamMetrics;
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
    this.metrics = options.metrics ?? new CloudStreamMetrics();
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
      outstanding: 0,
      openTimer: undefined,
      uploadSent: 0,
      uploadAcked: 0,
      uploadWaiters: [],
    };
    stream.openTimer = setTimeout(() => this.fail(id, 504, `edge node "${spec.nodeName}" did not open the ${spec.kind} stream in time`), this.openTimeoutMs);
    stream.openTimer.unref();
    this.streams.set(id, stream);
    this.metrics.opened.inc({ kind: spec.kind });
    this.options.logger.debug({ id, nodeName: spec.nodeName, pod: `${spec.namespace}/${spec.podName}`, kind: spec.kind }, 'opening stream');
    void this.sendTo(stream, StreamOperation.Open, { id, kind: spec.kind, container: spec.container, options: spec.options, window: this.windowBytes });
    return id;
  }

  /**
   * stdin, resize or close-stdin (a forwarded connection's bytes and end) from kubectl to the edge. Resolves once
   * handed to the hub; for a forwarded connection's bytes, once the edge acked writing them to the pod, so a
   * caller that waits reads no faster than the pod takes the bytes.
   */
  sendData(id: string, channel: number, data: Buffer): Promise<void> {
    const stream = this.streams.get(id);
    if (!stream) return Promise.resolve();
    const sent = this.sendTo(stream, StreamOperation.Data, { id, channel, data: data.toString('base64') } satisfies DataContent);
    if (stream.kind !== 'portforward' || data.length === 0) return sent;
    stream.uploadSent += data.length;
    const offset = stream.uploadSent;
    return new Promise((resolve) => stream.uploadWaiters.push({ offset, resolve }));
  }

  /** kubectl went away: forget the stream and tell the edge to stop. */
  cancel(id: string, reason: string): void {
    const stream = this.remove(id, 'cancelled');
    if (stream) void this.sendTo(stream, StreamOperation.Close, { id, reason } satisfies CloseContent);
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
        const { channel, data } = message.content as Partial<DataContent>;
        if (typeof channel !== 'number' || !OUTPUT_CHANNELS[stream.kind].includes(channel) || typeof data !== 'string' || !BASE64.test(data)) {
          this.metrics.refusedFrames.inc({ kind: stream.kind, reason: 'bad-data' });
          throw new MalformedStreamFrameError(node, id, `${stream.kind} data on channel ${String(channel)} (expected ${OUTPUT_CHANNELS[stream.kind].join(' or ')}, with a base64 payload)`);
        }
        const bytes = Buffer.from(data, 'base64');
        // the edge may send while less than the window is unacknowledged (so at most one chunk past it);
        // our count drops when we send an ack, before the edge sees it, so an honest edge never trips this
        if (stream.outstanding >= this.windowBytes || bytes.length > MAX_STREAM_CHUNK_BYTES) {
          this.metrics.refusedFrames.inc({ kind: stream.kind, reason: 'over-window' });
          throw new MalformedStreamFrameError(
            node,
            id,
            `${bytes.length} bytes of data while ${stream.outstanding} are unacknowledged (window ${this.windowBytes}, chunks of at most ${MAX_STREAM_CHUNK_BYTES}); dropped`,
          );
        }
        stream.outstanding += bytes.length;
        this.markReady(stream);
        stream.sink.data(channel, bytes, () => this.written(stream, bytes.length));
        return;
      }
      case StreamOperation.Ack: {
        const bytes = (message.content as { bytes?: unknown }).bytes;
        if (stream.kind !== 'portforward' || typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes <= 0) {
          this.metrics.refusedFrames.inc({ kind: stream.kind, reason: 'bad-ack' });
          throw new MalformedStreamFrameError(node, id, `ack of ${JSON.stringify(bytes)} bytes on a ${stream.kind} stream (edges ack only portforward bytes, as a positive integer)`);
        }
        stream.uploadAcked = Math.min(stream.uploadSent, stream.uploadAcked + bytes);
        this.releaseUploads(stream);
        return;
      }
      case StreamOperation.Close:
        this.remove(id, 'closed');
        stream.sink.closed(message.content as CloseContent);
        return;
      case StreamOperation.Error: {
        const { code, message: reason } = message.content as ErrorContent;
        this.remove(id, 'failed');
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
    stream.outstanding = Math.max(0, stream.outstanding - acked);
    void this.sendTo(stream, StreamOperation.Ack, { id: stream.id, bytes: acked });
  }

  private fail(id: string, code: number, message: string): void {
    const stream = this.remove(id, 'failed');
    if (!stream) return;
    void this.sendTo(stream, StreamOperation.Close, { id, reason: message } satisfies CloseContent);
    stream.sink.failed(code, message);
  }

  private failNode(nodeName: string, code: number, message: string): void {
    for (const stream of [...this.streams.values()]) {
      if (stream.nodeName !== nodeName) continue;
      this.remove(stream.id, 'failed');
      stream.sink.failed(code, message);
    }
  }

  private releaseUploads(stream: ActiveStream, all = false): void {
    const waiting = stream.uploadWaiters;
    stream.uploadWaiters = all ? [] : waiting.filter((w) => w.offset > stream.uploadAcked);
    for (const waiter of waiting) if (all || waiter.offset <= stream.uploadAcked) waiter.resolve();
  }

  private remove(id: string, outcome: 'closed' | 'cancelled' | 'failed'): ActiveStream | undefined {
    const stream = this.streams.get(id);
    if (!stream) return undefined;
    clearTimeout(stream.openTimer);
    this.releaseUploads(stream, true);
    this.streams.delete(id);
    this.metrics.ended.inc({ kind: stream.kind, outcome });
    return stream;
  }

  private sendTo(stream: ActiveStream, operation: string, content: unknown): Promise<void> {
    const message = newMessage({ source: STREAM_SOURCE, group: STREAM_GROUP, operation, resource: stream.resource, content });
    return this.options.hub.sendToNode(message).catch((error: unknown) => {
      this.options.logger.debug({ id: stream.id, operation, error: (error as Error).message }, 'stream message not sent');
      if (operation !== StreamOperation.Close && this.streams.has(stream.id)) {
        this.remove(stream.id, 'failed');
        stream.sink.failed(503, `edge node "${stream.nodeName}" cannot be reached: ${(error as Error).message}`);
      }
    });
  }
}

// exec and attach over SPDY/3.1, the remotecommand protocol a kubelet speaks to kube-apiserver (which,
// up to Kubernetes 1.35, translates kubectl's WebSocket into SPDY towards the kubelet) and to SPDY-only
// clients. The client opens one SPDY stream per `streamType`: error, stdin, stdout, stderr, resize. Once the
// streams the request asked for are there, the process runs as one hub stream: stdin → channel 0 (its
// FIN → 255), resize → channel 4 (the same JSON as the WebSocket protocol), channel 1/2 → stdout/stderr; the
// end is the Status on the error stream (v4.channel.k8s.io), then FIN on every stream and the connection closes.
import type { Logger } from '@kedge/telemetry';
import type { CloudStreamMetrics } from './cloudstream-metrics';
import { StreamRefusedError } from './errors';
import {
  ControlType,
  FLAG_FIN,
  HeaderBlockReader,
  HeaderBlockWriter,
  RstStatus,
  SpdyFrameReader,
  SpdyProtocolError,
  dataFrame,
  decodeHeaderPairs,
  encodeHeaderPairs,
  goAwayFrame,
  parseSynStream,
  pingFrame,
  rstStreamFrame,
  synReplyFrame,
  type SpdyFrame,
} from '@kedge/spdy';
import { execStatus } from './status';
import type { AttachOptions } from '@kedge/protocol';
import type { StreamSpec, StreamTable } from './stream-table';
import type { TunnelLink } from './port-forward-tunnel';

/** The remotecommand versions this server speaks over SPDY, best first. */
export const SPDY_PROCESS_PROTOCOLS = ['v4.channel.k8s.io'];

type StreamType = 'error' | 'stdin' | 'stdout' | 'stderr' | 'resize';
const STREAM_TYPES = new Set<StreamType>(['error', 'stdin', 'stdout', 'stderr', 'resize']);

export interface ProcessSpdySessionOptions {
  link: TunnelLink;
  table: StreamTable;
  spec: StreamSpec;
  metrics: CloudStreamMetrics;
  logger: Logger;
  /** the client must have opened its streams within this (default 30 s, as a kubelet) */
  streamCreationTimeoutMs?: number;
}

const MAX_DATA_FRAME = 32 * 1024;

export class ProcessSpdySession {
  private readonly frames = new SpdyFrameReader();
  private readonly headerReader = new HeaderBlockReader();
  private readonly headerWriter = new HeaderBlockWriter();
  private readonly streams = new Map<StreamType, number>();
  private readonly types = new Map<number, StreamType>();
  private readonly expected: StreamType[];
  private readonly kind: 'exec' | 'attach';
  private lastStreamId = 0;
  private hubId: string | undefined;
  private ended = false;
  private closed = false;
  private readonly creationTimer: NodeJS.Timeout;
  private handling: Promise<void> = Promise.resolve();

  constructor(private readonly options: ProcessSpdySessionOptions) {
    const streams = options.spec.options as AttachOptions;
    this.kind = options.spec.kind === 'exec' ? 'exec' : 'attach';
    this.expected = ['error'];
    if (streams.stdin) this.expected.push('stdin');
    if (streams.stdout) this.expected.push('stdout');
    // with a terminal, stderr is stdout (kubectl does not open it); resize comes instead
    if (streams.stderr && !streams.tty) this.expected.push('stderr');
    if (streams.tty) this.expected.push('resize');
    this.creationTimer = setTimeout(() => {
      if (this.hubId === undefined && !this.ended) {
        this.end(execStatus(undefined, `timed out waiting for the client to create the streams ${this.expected.filter((t) => !this.streams.has(t)).join(', ')}`));
      }
    }, options.streamCreationTimeoutMs ?? 30_000);
    this.creationTimer.unref();
  }

  receive(bytes: Buffer): void {
    if (this.closed) return;
    let frames: SpdyFrame[];
    try {
      frames = this.frames.push(bytes);
    } catch (error) {
      this.abort(error as Error);
      return;
    }
    for (const frame of frames) {
      this.handling = this.handling.then(() => (this.closed ? undefined : this.handle(frame))).catch((error: unknown) => this.abort(error as Error));
    }
  }

  /** The client went away: the process's hub stream is cancelled (the container keeps running). */
  linkClosed(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.creationTimer);
    if (this.hubId !== undefined && !this.ended) this.options.table.cancel(this.hubId, `kubectl ${this.kind} went away`);
    this.headerReader.close();
  }

  private async handle(frame: SpdyFrame): Promise<void> {
    if (!frame.control) {
      this.handleData(frame.streamId, frame.flags, frame.payload);
      return;
    }
    switch (frame.type) {
      case ControlType.SynStream:
        await this.handleSynStream(frame.flags, frame.payload);
        return;
      case ControlType.Ping:
        if (frame.payload.length === 4) this.write(pingFrame(frame.payload.readUInt32BE(0)));
        else this.refuse('bad-ping', `PING of ${frame.payload.length} bytes`);
        return;
      case ControlType.GoAway:
        this.options.link.close();
        this.linkClosed();
        return;
      default:
        // RST_STREAM of one of our streams, SETTINGS, WINDOW_UPDATE, HEADERS: nothing to act on
        return;
    }
  }

  private async handleSynStream(flags: number, payload: Buffer): Promise<void> {
    const syn = parseSynStream(flags, payload);
    const inflated = await this.headerReader.read(syn.headerBlock);
    let type: string | undefined;
    try {
      type = decodeHeaderPairs(inflated).get('streamtype')?.[0];
    } catch (error) {
      this.refuse('bad-stream-headers', `stream ${syn.streamId}: ${(error as Error).message}`);
      this.write(rstStreamFrame(syn.streamId, RstStatus.ProtocolError));
      return;
    }
    if (syn.streamId % 2 === 0 || syn.streamId <= this.lastStreamId) {
      this.refuse('bad-stream-id', `SYN_STREAM for stream ${syn.streamId} (client streams are odd and increasing, last was ${this.lastStreamId})`);
      this.write(rstStreamFrame(syn.streamId, RstStatus.ProtocolError));
      return;
    }
    this.lastStreamId = syn.streamId;
    if (type === undefined || !STREAM_TYPES.has(type as StreamType) || this.streams.has(type as StreamType)) {
      this.refuse('bad-stream-headers', `stream ${syn.streamId}: streamType "${type ?? ''}" (expected one each of error, stdin, stdout, stderr, resize)`);
      this.write(rstStreamFrame(syn.streamId, RstStatus.ProtocolError));
      return;
    }
    this.streams.set(type as StreamType, syn.streamId);
    this.types.set(syn.streamId, type as StreamType);
    this.write(synReplyFrame(syn.streamId, this.headerWriter.wrap(encodeHeaderPairs([]))));
    if (this.hubId === undefined && !this.ended && this.expected.every((t) => this.streams.has(t))) this.open();
  }

  private open(): void {
    clearTimeout(this.creationTimer);
    try {
      this.hubId = this.options.table.open(this.options.spec, {
        ready() {},
        data: (channel, data, written) => {
          const streamId = this.streams.get(channel === 2 ? 'stderr' : 'stdout') ?? this.streams.get('stdout');
          if (streamId === undefined || this.closed) return written();
          this.writeData(streamId, data, written);
        },
        closed: (content) => this.end(execStatus(content.exitCode ?? (content.reason ? undefined : 0), content.reason)),
        failed: (_code, message) => this.end(execStatus(undefined, message)),
      });
    } catch (error) {
      if (!(error instanceof StreamRefusedError)) throw error;
      this.end(execStatus(undefined, error.message));
    }
  }

  private handleData(streamId: number, flags: number, payload: Buffer): void {
    const type = this.types.get(streamId);
    if (this.hubId === undefined || this.ended || (type !== 'stdin' && type !== 'resize')) return;
    const channel = type === 'stdin' ? 0 : 4;
    if (payload.length > 0) void this.options.table.sendData(this.hubId, channel, payload);
    if (type === 'stdin' && flags & FLAG_FIN) void this.options.table.sendData(this.hubId, 255, Buffer.alloc(0));
  }

  /** The process ended (or could not start): its Status on the error stream, FIN everywhere, then close. */
  private end(status: Record<string, unknown>): void {
    if (this.ended || this.closed) return;
    this.ended = true;
    clearTimeout(this.creationTimer);
    const errorStream = this.streams.get('error');
    if (errorStream !== undefined) this.write(dataFrame(errorStream, 0, Buffer.from(JSON.stringify(status))));
    for (const streamId of this.streams.values()) this.write(dataFrame(streamId, FLAG_FIN, Buffer.alloc(0)));
    // the frames are queued on the link in order; closing after them ends kubectl's session as a kubelet does
    this.options.link.send(Buffer.alloc(0), () => this.options.link.close());
  }

  private writeData(streamId: number, data: Buffer, written: () => void): void {
    for (let offset = 0; offset < data.length; offset += MAX_DATA_FRAME) {
      const last = offset + MAX_DATA_FRAME >= data.length;
      this.options.link.send(dataFrame(streamId, 0, data.subarray(offset, offset + MAX_DATA_FRAME)), last ? written : () => undefined);
    }
  }

  private write(frame: Buffer): void {
    if (!this.closed) this.options.link.send(frame, () => undefined);
  }

  private refuse(reason: string, detail: string): void {
    this.options.metrics.refusedFrames.inc({ kind: this.kind, reason });
    this.options.logger.warn({ pod: `${this.options.spec.namespace}/${this.options.spec.podName}`, reason }, `${this.kind} over SPDY: refused ${detail}`);
  }

  private abort(error: Error): void {
    if (this.closed) return;
    if (error instanceof SpdyProtocolError) this.refuse('bad-frame', error.message);
    else this.options.logger.error({ error: error.message }, `${this.kind} over SPDY failed`);
    this.write(goAwayFrame(this.lastStreamId, 1));
    this.options.link.close();
    this.linkClosed();
  }
}

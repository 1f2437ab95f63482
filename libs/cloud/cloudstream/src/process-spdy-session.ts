// exec and attach over SPDY/3.1, the remotecommand protocol a kubelet speaks to kube-apiserver (which,
// up to Kubernetes 1.35, translates kubectl's WebSocket into SPDY towards the kubelet) and to SPDY-only
// clients. The client opens one SPDY stream per `streamType`: error, stdin, stdout, stderr, resize. Once the
// streams the request asked for are there, the process runs as one hub stream: stdin → channel 0 (its
// FIN → 255), resize → channel 4 (the same JSON as the WebSocket protocol), channel 1/2 → stdout/stderr; the
// end is the Status on the error stream (v4.channel.k8s.io), then FIN on every stream and the connection closes.
import type { Logger } from '@kedge/telemetry';
import type { AttachOptions } from '@kedge/protocol';
import { FLAG_FIN, dataFrame } from '@kedge/spdy';
import type { CloudStreamMetrics } from './cloudstream-metrics';
import { StreamRefusedError } from './errors';
import { SpdyServerSession, type TunnelLink } from './spdy-server-session';
import { execStatus } from './status';
import type { StreamSpec, StreamTable } from './stream-table';

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

export class ProcessSpdySession extends SpdyServerSession {
  private readonly streams = new Map<StreamType, number>();
  private readonly types = new Map<number, StreamType>();
  private readonly expected: StreamType[];
  private readonly kind: 'exec' | 'attach';
  private hubId: string | undefined;
  private ended = false;
  private readonly creationTimer: NodeJS.Timeout;

  constructor(private readonly options: ProcessSpdySessionOptions) {
    const kind = options.spec.kind === 'exec' ? 'exec' : 'attach';
    super({ link: options.link, metrics: options.metrics, logger: options.logger, target: options.spec, kind, label: `${kind} over SPDY` });
    const streams = options.spec.options as AttachOptions;
    this.kind = kind;
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

  /** The client went away: the process's hub stream is cancelled (the container keeps running). */
  protected onClosed(): void {
    clearTimeout(this.creationTimer);
    if (this.hubId !== undefined && !this.ended) this.options.table.cancel(this.hubId, `kubectl ${this.kind} went away`);
  }

  protected onStream(streamId: number, headers: Map<string, string[]>): void {
    const type = headers.get('streamtype')?.[0];
    if (type === undefined || !STREAM_TYPES.has(type as StreamType) || this.streams.has(type as StreamType)) {
      this.refuseStream(streamId, 'bad-stream-headers', `streamType "${type ?? ''}" (expected one each of error, stdin, stdout, stderr, resize)`);
      return;
    }
    this.streams.set(type as StreamType, streamId);
    this.types.set(streamId, type as StreamType);
    this.acceptStream(streamId);
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

  protected onData(streamId: number, flags: number, payload: Buffer): void {
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
}

// What every SPDY/3.1 session kubectl (or kube-apiserver) opens towards us has in common, whatever it
// carries: frames are read and handled one after the other (header blocks share one inflate context),
// PING is answered, GOAWAY ends the session, a client stream must be odd and increasing and carry
// readable headers, and broken framing ends the session with GOAWAY. Port-forward and exec/attach only
// say what a stream means (`onStream`), what its data does (`onData`) and what a reset does (`onReset`).
import type { Logger } from '@kedge/telemetry';
import {
  ControlType,
  HeaderBlockReader,
  HeaderBlockWriter,
  RstStatus,
  SpdyFrameReader,
  SpdyProtocolError,
  dataFrame,
  decodeHeaderPairs,
  encodeHeaderPairs,
  goAwayFrame,
  leadingStreamId,
  parseSynStream,
  pingFrame,
  rstStreamFrame,
  synReplyFrame,
  type SpdyFrame,
} from '@kedge/spdy';
import type { CloudStreamMetrics } from './cloudstream-metrics';
import type { StreamSpec } from './stream-table';

/** How a session reaches kubectl. */
export interface TunnelLink {
  /** writes bytes to kubectl; `sent` runs once they are on their way (the write completed) */
  send(bytes: Buffer, sent: () => void): void;
  /** stop / continue reading from kubectl (upload backpressure) */
  pause(): void;
  resume(): void;
  close(): void;
}

export interface SpdyServerSessionContext {
  link: TunnelLink;
  metrics: CloudStreamMetrics;
  logger: Logger;
  target: Pick<StreamSpec, 'namespace' | 'podName'>;
  /** the `kind` label of the refused-frame metric: portforward, exec, attach */
  kind: string;
  /** names the session in log messages: "port-forward", "exec over SPDY" */
  label: string;
}

const MAX_DATA_FRAME = 32 * 1024;
const SPDY_PROTOCOL_ERROR = 1;

export abstract class SpdyServerSession {
  private readonly frames = new SpdyFrameReader();
  private readonly headerReader = new HeaderBlockReader();
  private readonly headerWriter = new HeaderBlockWriter();
  private lastStreamId = 0;
  private handling: Promise<void> = Promise.resolve();
  protected closed = false;

  protected constructor(private readonly context: SpdyServerSessionContext) {}

  /** Bytes from kubectl. */
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

  /** kubectl went away (or the session ended): what the session started on the hub is cancelled. */
  linkClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClosed();
    this.headerReader.close();
  }

  /** A new client stream with valid id and readable headers; call `acceptStream` or `refuseStream`. */
  protected abstract onStream(streamId: number, headers: Map<string, string[]>): void;
  protected abstract onData(streamId: number, flags: number, payload: Buffer): void;
  /** the client reset one of its streams */
  protected onReset(_streamId: number): void {}
  /** the session is over: cancel whatever runs on the hub */
  protected abstract onClosed(): void;

  protected acceptStream(streamId: number): void {
    this.write(synReplyFrame(streamId, this.headerWriter.wrap(encodeHeaderPairs([]))));
  }

  protected refuseStream(streamId: number, reason: string, detail: string): void {
    this.refuse(reason, `stream ${streamId}: ${detail}`);
    this.write(rstStreamFrame(streamId, RstStatus.ProtocolError));
  }

  /** Writes data on a stream in frames of at most 32 KiB; `written` runs once the last is on its way. */
  protected writeData(streamId: number, data: Buffer, written: () => void): void {
    for (let offset = 0; offset < data.length; offset += MAX_DATA_FRAME) {
      const last = offset + MAX_DATA_FRAME >= data.length;
      this.context.link.send(dataFrame(streamId, 0, data.subarray(offset, offset + MAX_DATA_FRAME)), last ? written : () => undefined);
    }
  }

  protected write(frame: Buffer): void {
    if (!this.closed) this.context.link.send(frame, () => undefined);
  }

  protected refuse(reason: string, detail: string): void {
    const { metrics, logger, target, kind, label } = this.context;
    metrics.refusedFrames.inc({ kind, reason });
    logger.warn({ pod: `${target.namespace}/${target.podName}`, reason }, `${label}: refused ${detail}`);
  }

  private async handle(frame: SpdyFrame): Promise<void> {
    if (!frame.control) {
      this.onData(frame.streamId, frame.flags, frame.payload);
      return;
    }
    switch (frame.type) {
      case ControlType.SynStream:
        await this.handleSynStream(frame.flags, frame.payload);
        return;
      case ControlType.RstStream: {
        const streamId = leadingStreamId(frame.payload);
        if (streamId !== undefined) this.onReset(streamId);
        return;
      }
      case ControlType.Ping:
        if (frame.payload.length === 4) this.write(pingFrame(frame.payload.readUInt32BE(0)));
        else this.refuse('bad-ping', `PING of ${frame.payload.length} bytes`);
        return;
      case ControlType.GoAway:
        this.context.link.close();
        this.linkClosed();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE, HEADERS: nothing to act on; unknown control frames are ignored as SPDY says
        return;
    }
  }

  private async handleSynStream(flags: number, payload: Buffer): Promise<void> {
    const syn = parseSynStream(flags, payload);
    // the header block must be inflated even for a stream refused below: the context spans all blocks
    const inflated = await this.headerReader.read(syn.headerBlock);
    let headers: Map<string, string[]>;
    try {
      headers = decodeHeaderPairs(inflated);
    } catch (error) {
      this.refuseStream(syn.streamId, 'bad-stream-headers', (error as Error).message);
      return;
    }
    if (syn.streamId % 2 === 0 || syn.streamId <= this.lastStreamId) {
      this.refuse('bad-stream-id', `SYN_STREAM for stream ${syn.streamId} (client streams are odd and increasing, last was ${this.lastStreamId})`);
      this.write(rstStreamFrame(syn.streamId, RstStatus.ProtocolError));
      return;
    }
    this.lastStreamId = syn.streamId;
    this.onStream(syn.streamId, headers);
  }

  /** The session cannot go on (broken framing or header compression): GOAWAY, then close. */
  private abort(error: Error): void {
    if (this.closed) return;
    if (error instanceof SpdyProtocolError) this.refuse('bad-frame', error.message);
    else this.context.logger.error({ error: error.message }, `${this.context.label} failed`);
    this.write(goAwayFrame(this.lastStreamId, SPDY_PROTOCOL_ERROR));
    this.context.link.close();
    this.linkClosed();
  }
}

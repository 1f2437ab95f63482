// The server end of one `kubectl port-forward`: a SPDY/3.1 session (inside WebSocket binary messages,
// or on the raw socket after an `Upgrade: SPDY/3.1`) in which kubectl opens, per accepted local
// connection, an error stream and a data stream sharing a `requestID` header, both naming the pod
// `port`. Each such pair becomes one `portforward` stream on the hub: data frames go to the edge, which
// connects to the pod; the pod's bytes come back as data frames; the edge's failure (connection refused)
// is written on the error stream, which kubectl prints, and the other connections carry on.
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
  leadingStreamId,
  parseSynStream,
  pingFrame,
  rstStreamFrame,
  synReplyFrame,
  type SpdyFrame,
} from '@kedge/spdy';
import type { StreamSpec, StreamTable } from './stream-table';

/** How the tunnel reaches kubectl. */
export interface TunnelLink {
  /** writes bytes to kubectl; `sent` runs once they are on their way (the write completed) */
  send(bytes: Buffer, sent: () => void): void;
  /** stop / continue reading from kubectl (upload backpressure) */
  pause(): void;
  resume(): void;
  close(): void;
}

export interface PortForwardTunnelOptions {
  link: TunnelLink;
  table: StreamTable;
  target: Pick<StreamSpec, 'nodeName' | 'namespace' | 'podName'>;
  metrics: CloudStreamMetrics;
  logger: Logger;
  /** bytes from kubectl not yet handed to the hub before reading from kubectl pauses (default 1 MiB) */
  maxPendingUploadBytes?: number;
}

interface ForwardedConnection {
  requestId: string;
  port: number;
  errorStreamId?: number;
  dataStreamId?: number;
  /** the hub stream; undefined until the data stream arrived, and again once it ended */
  hubId?: string;
  /** our side of the data and error streams is finished (FIN sent) */
  finished: boolean;
}

const MAX_DATA_FRAME = 32 * 1024;
const SPDY_PROTOCOL_ERROR = 1;

export class PortForwardTunnel {
  private readonly frames = new SpdyFrameReader();
  private readonly headerReader = new HeaderBlockReader();
  private readonly headerWriter = new HeaderBlockWriter();
  private readonly connections = new Map<string, ForwardedConnection>();
  private readonly byStreamId = new Map<number, { connection: ForwardedConnection; type: 'data' | 'error' }>();
  private lastStreamId = 0;
  private pendingUpload = 0;
  private paused = false;
  private closed = false;
  /** frames are handled one after the other: header blocks share one inflate context */
  private handling: Promise<void> = Promise.resolve();

  constructor(private readonly options: PortForwardTunnelOptions) {}

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

  /** kubectl went away: every connection's hub stream is cancelled. */
  linkClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const connection of this.connections.values()) this.cancelHub(connection, 'kubectl port-forward went away');
    this.connections.clear();
    this.byStreamId.clear();
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
      case ControlType.RstStream:
        this.handleReset(leadingStreamId(frame.payload));
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
        // SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do for a forward; unknown control frames are ignored as SPDY says
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
    const type = headers.get('streamtype')?.[0];
    const portText = headers.get('port')?.[0] ?? '';
    const requestId = headers.get('requestid')?.[0] ?? '';
    const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if ((type !== 'data' && type !== 'error') || !(port >= 1 && port <= 65535) || requestId === '') {
      this.refuse('bad-stream-headers', `stream ${syn.streamId}: streamType "${type ?? ''}", port "${portText}", requestID "${requestId}" (expected data|error, 1-65535, non-empty)`);
      this.write(rstStreamFrame(syn.streamId, RstStatus.ProtocolError));
      return;
    }
    let connection = this.connections.get(requestId);
    if (connection && (connection.port !== port || (type === 'data' ? connection.dataStreamId : connection.errorStreamId) !== undefined)) {
      this.refuse('bad-stream-headers', `stream ${syn.streamId}: requestID ${requestId} already has a ${type} stream or another port`);
      this.write(rstStreamFrame(syn.streamId, RstStatus.ProtocolError));
      return;
    }
    if (!connection) {
      connection = { requestId, port, finished: false };
      this.connections.set(requestId, connection);
    }
    if (type === 'data') connection.dataStreamId = syn.streamId;
    else connection.errorStreamId = syn.streamId;
    this.byStreamId.set(syn.streamId, { connection, type });
    this.write(synReplyFrame(syn.streamId, this.headerWriter.wrap(encodeHeaderPairs([]))));
    if (connection.finished) {
      // the connection already ended (its data stream came first and failed): this stream only needs its end
      this.write(dataFrame(syn.streamId, FLAG_FIN, Buffer.alloc(0)));
      return;
    }
    if (type === 'data') this.openHub(connection);
  }

  private openHub(connection: ForwardedConnection): void {
    const { table, target } = this.options;
    try {
      connection.hubId = table.open(
        { ...target, kind: 'portforward', container: '', options: { port: connection.port } },
        {
          ready() {},
          data: (channel, data, written) => {
            if (channel !== 1 || connection.dataStreamId === undefined || connection.finished) {
              written();
              return;
            }
            this.writeData(connection.dataStreamId, data, written);
          },
          closed: () => {
            connection.hubId = undefined;
            this.finish(connection);
          },
          failed: (_code, message) => {
            connection.hubId = undefined;
            this.finish(connection, message);
          },
        },
      );
    } catch (error) {
      if (!(error instanceof StreamRefusedError)) throw error;
      this.finish(connection, error.message);
    }
  }

  private handleData(streamId: number, flags: number, payload: Buffer): void {
    const entry = this.byStreamId.get(streamId);
    // late frames of a connection that already ended are expected (kubectl was still sending); drop them
    if (!entry) return;
    const { connection, type } = entry;
    if (type === 'error' || connection.hubId === undefined) return;
    const { table } = this.options;
    if (payload.length > 0) {
      this.pendingUpload += payload.length;
      this.throttle();
      void table.sendData(connection.hubId, 0, payload).finally(() => {
        this.pendingUpload -= payload.length;
        this.throttle();
      });
    }
    if (flags & FLAG_FIN) void table.sendData(connection.hubId, 255, Buffer.alloc(0));
  }

  private handleReset(streamId: number | undefined): void {
    const entry = streamId === undefined ? undefined : this.byStreamId.get(streamId);
    if (!entry) return;
    // kubectl resets the data stream once it has read everything, or when its local client went away
    if (entry.type === 'data') {
      this.cancelHub(entry.connection, 'kubectl reset the connection');
      this.forget(entry.connection);
    }
  }

  private throttle(): void {
    const limit = this.options.maxPendingUploadBytes ?? 1024 * 1024;
    if (!this.paused && this.pendingUpload >= limit) {
      this.paused = true;
      this.options.link.pause();
    } else if (this.paused && this.pendingUpload < limit / 2) {
      this.paused = false;
      this.options.link.resume();
    }
  }

  /** Our side of the connection is done: the error (if any) on the error stream, then FIN on both. */
  private finish(connection: ForwardedConnection, error?: string): void {
    if (connection.finished || this.closed) return;
    connection.finished = true;
    if (connection.errorStreamId !== undefined) {
      if (error) this.write(dataFrame(connection.errorStreamId, 0, Buffer.from(error)));
      this.write(dataFrame(connection.errorStreamId, FLAG_FIN, Buffer.alloc(0)));
    }
    if (connection.dataStreamId !== undefined) this.write(dataFrame(connection.dataStreamId, FLAG_FIN, Buffer.alloc(0)));
    if (error) this.options.logger.debug({ requestId: connection.requestId, port: connection.port, error }, 'port-forward connection failed');
  }

  private cancelHub(connection: ForwardedConnection, reason: string): void {
    if (connection.hubId === undefined) return;
    this.options.table.cancel(connection.hubId, reason);
    connection.hubId = undefined;
  }

  private forget(connection: ForwardedConnection): void {
    this.connections.delete(connection.requestId);
    if (connection.dataStreamId !== undefined) this.byStreamId.delete(connection.dataStreamId);
    if (connection.errorStreamId !== undefined) this.byStreamId.delete(connection.errorStreamId);
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
    this.options.metrics.refusedFrames.inc({ kind: 'portforward', reason });
    this.options.logger.warn({ pod: `${this.options.target.namespace}/${this.options.target.podName}`, reason }, `port-forward: refused ${detail}`);
  }

  /** The session cannot go on (broken framing or header compression): GOAWAY, then close. */
  private abort(error: Error): void {
    if (this.closed) return;
    if (error instanceof SpdyProtocolError) this.refuse('bad-frame', error.message);
    else this.options.logger.error({ error: error.message }, 'port-forward tunnel failed');
    this.write(goAwayFrame(this.lastStreamId, SPDY_PROTOCOL_ERROR));
    this.options.link.close();
    this.linkClosed();
  }
}

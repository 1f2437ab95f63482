// The server end of one `kubectl port-forward`: a SPDY/3.1 session (inside WebSocket binary messages,
// or on the raw socket after an `Upgrade: SPDY/3.1`) in which kubectl opens, per accepted local
// connection, an error stream and a data stream sharing a `requestID` header, both naming the pod
// `port`. Each such pair becomes one `portforward` stream on the hub: data frames go to the edge, which
// connects to the pod; the pod's bytes come back as data frames; the edge's failure (connection refused)
// is written on the error stream, which kubectl prints, and the other connections carry on.
import type { Logger } from '@kedge/telemetry';
import { FLAG_FIN, dataFrame } from '@kedge/spdy';
import type { CloudStreamMetrics } from './cloudstream-metrics';
import { StreamRefusedError } from './errors';
import { SpdyServerSession, type TunnelLink } from './spdy-server-session';
import type { StreamSpec, StreamTable } from './stream-table';

export type { TunnelLink } from './spdy-server-session';

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

export class PortForwardTunnel extends SpdyServerSession {
  private readonly connections = new Map<string, ForwardedConnection>();
  private readonly byStreamId = new Map<number, { connection: ForwardedConnection; type: 'data' | 'error' }>();
  private pendingUpload = 0;
  private paused = false;

  constructor(private readonly options: PortForwardTunnelOptions) {
    super({ link: options.link, metrics: options.metrics, logger: options.logger, target: options.target, kind: 'portforward', label: 'port-forward' });
  }

  /** kubectl went away: every connection's hub stream is cancelled. */
  protected onClosed(): void {
    for (const connection of this.connections.values()) this.cancelHub(connection, 'kubectl port-forward went away');
    this.connections.clear();
    this.byStreamId.clear();
  }

  protected onStream(streamId: number, headers: Map<string, string[]>): void {
    const type = headers.get('streamtype')?.[0];
    const portText = headers.get('port')?.[0] ?? '';
    const requestId = headers.get('requestid')?.[0] ?? '';
    const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if ((type !== 'data' && type !== 'error') || !(port >= 1 && port <= 65535) || requestId === '') {
      this.refuseStream(streamId, 'bad-stream-headers', `streamType "${type ?? ''}", port "${portText}", requestID "${requestId}" (expected data|error, 1-65535, non-empty)`);
      return;
    }
    let connection = this.connections.get(requestId);
    if (connection && (connection.port !== port || (type === 'data' ? connection.dataStreamId : connection.errorStreamId) !== undefined)) {
      this.refuseStream(streamId, 'bad-stream-headers', `requestID ${requestId} already has a ${type} stream or another port`);
      return;
    }
    if (!connection) {
      connection = { requestId, port, finished: false };
      this.connections.set(requestId, connection);
    }
    if (type === 'data') connection.dataStreamId = streamId;
    else connection.errorStreamId = streamId;
    this.byStreamId.set(streamId, { connection, type });
    this.acceptStream(streamId);
    if (connection.finished) {
      // the connection already ended (its data stream came first and failed): this stream only needs its end
      this.write(dataFrame(streamId, FLAG_FIN, Buffer.alloc(0)));
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

  protected onData(streamId: number, flags: number, payload: Buffer): void {
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

  protected override onReset(streamId: number): void {
    const entry = this.byStreamId.get(streamId);
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
}

// The one interface both hubs use for a link between cloud and edge, whatever carries it.
import type { Message } from '@kedge/protocol';
import type { Refusal } from './listener-handlers';

export type TransportKind = 'websocket' | 'quic' | 'webtransport';

/** Who is on the other end, as proven by the client certificate, never by a header or a message. */
export interface PeerIdentity {
  /** the node name taken from the certificate CN `system:node:<name>`; undefined on the edge side (peer = cloud) */
  nodeName?: string;
  /** the full subject common name of the peer certificate */
  commonName: string;
  /** the peer certificate's serial number, lowercase hex; what a revocation by serial matches */
  serialNumber?: string;
  /** the peer certificate's notBefore; a node-wide revocation covers certificates up to a moment */
  notBefore?: Date;
}

export interface ConnectionClosed {
  /** true when this side called close() */
  local: boolean;
  reason: string;
}

export interface ConnectionEvents {
  /** a decoded, validated message from the peer */
  message: (message: Message) => void;
  /** a frame that failed validation; the connection stays open, the frame is dropped */
  badFrame: (error: Error) => void;
  /** emitted once when the link is gone for whatever reason */
  close: (info: ConnectionClosed) => void;
}

export interface Connection {
  readonly kind: TransportKind;
  readonly peer: PeerIdentity;
  readonly remoteAddress: string;
  /**
   * Queue a message. Resolves once the frame is handed to the socket. When the bounded send queue is
   * full the promise waits for room (backpressure); it rejects with SendQueueTimeoutError if no room
   * appears within the configured send timeout, and with ConnectionClosedError once the link is closed.
   */
  send(message: Message): Promise<void>;
  /**
   * Stop reading from the peer while any `holder` (e.g. "rate", "in-flight") holds the pause: nothing is
   * buffered on our side, the transport's own flow control (TCP window, QUIC stream credit) pushes back
   * on the peer. Frames already read are still delivered. Idempotent per holder.
   */
  pauseReading(holder: string): void;
  /** Releases `holder`'s pause; reading resumes once no holder is left. */
  resumeReading(holder: string): void;
  /** true while some holder pauses reading */
  readonly readingPaused: boolean;
  /** Close the link; resolves when the socket is gone. Safe to call twice. */
  close(reason?: string): Promise<void>;
  readonly closed: boolean;
  on<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this;
  off<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this;
  once<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this;
}

export interface TlsMaterial {
  /** PEM of this side's certificate (chain) */
  cert: string;
  /** PEM of this side's private key */
  key: string;
  /** PEM of the CA that must have issued the peer's certificate */
  ca: string;
}

export interface LinkLimits {
  /** largest accepted frame in bytes; bigger frames are refused with a ProtocolError and counted */
  maxFrameBytes: number;
  /** most bytes waiting in the send queue before send() applies backpressure */
  maxQueuedBytes: number;
  /** how long send() may wait for room in the queue */
  sendTimeoutMs: number;
}

export const DEFAULT_LINK_LIMITS: LinkLimits = {
  maxFrameBytes: 8 * 1024 * 1024,
  maxQueuedBytes: 16 * 1024 * 1024,
  sendTimeoutMs: 30_000,
};

/** Listens for edges; emits a Connection per authenticated edge. */
export interface HubListener {
  readonly kind: TransportKind;
  /** the bound port (useful when 0 was asked for) */
  readonly port: number;
  onConnection(handler: (connection: Connection) => void): void;
  /** a refused attempt (bad certificate, identity mismatch, handshake garbage); for metrics and logs */
  onRefused(handler: (refusal: Refusal) => void): void;
  close(): Promise<void>;
}

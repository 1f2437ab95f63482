// One hub link over a WebSocket: one JSON message per text frame (or a batch of them, when both ends
// speak batch frames), ping/pong liveness.
import { Buffer } from 'node:buffer';
import { ProtocolError, encodeBatch } from '@kedge/protocol';
import { WebSocket } from 'ws';
import type { RawData } from 'ws';
import { FramedConnection } from '../framed-connection';
import type { FramedConnectionInit } from '../framed-connection';
import type { ResolvedLiveness } from '../options';
import { startProbing, stopProbing } from '../probe-wheel';

/** Frames up to this multiple of maxFrameBytes are read and refused; bigger ones close with 1009. */
export const WEBSOCKET_OVERSIZE_FACTOR = 2;
/** how long a polite close may wait for the peer's close frame before the socket is cut */
const CLOSE_GRACE_MS = 2_000;
/** RFC 6455 limits a close reason to 123 bytes */
const MAX_CLOSE_REASON_BYTES = 123;

/** The ws maxPayload for a frame limit: room to read an oversized frame and refuse it politely. */
export function webSocketMaxPayload(maxFrameBytes: number): number {
  return maxFrameBytes * WEBSOCKET_OVERSIZE_FACTOR;
}

/**
 * Upgrade header by which each end says it speaks batch frames (a JSON array of messages in one text
 * frame; docs/protocol.md): the edge in its request, the hub in its 101 answer. A link uses them, both
 * ways, only when both ends said so: KubeEdge peers, older kedge ones and raw clients only ever see one
 * message per frame, and an array they send is a bad frame as before.
 */
export const BATCH_FRAMES_HEADER = 'kedge-batch-frames';
export const BATCH_FRAMES_VERSION = '1';
/** Largest batch sent; an end announces batches only if its maxFrameBytes takes a batch this large. */
export const MAX_BATCH_BYTES = 64 * 1024;

/** Whether an end with this frame limit may announce that it reads batch frames. */
export function readsBatchFrames(maxFrameBytes: number): boolean {
  return maxFrameBytes >= MAX_BATCH_BYTES;
}

/** Batch frames, both ways, when this end announced them and the peer did too. */
export function usesBatchFrames(thisEndAnnounced: boolean, peerAnnounced: boolean): boolean {
  return thisEndAnnounced && peerAnnounced;
}

/** Whether the peer's upgrade request or answer carries the batch announcement. */
export function announcesBatchFrames(value: string | string[] | undefined): boolean {
  return value === BATCH_FRAMES_VERSION || (Array.isArray(value) && value.includes(BATCH_FRAMES_VERSION));
}

/** The options both ends give ws so frames reach our decoder, which enforces the real rules. */
export function webSocketFrameOptions(maxFrameBytes: number): {
  maxPayload: number;
  perMessageDeflate: false;
  skipUTF8Validation: true;
} {
  return {
    maxPayload: webSocketMaxPayload(maxFrameBytes),
    // compression would let a small frame inflate past every limit
    perMessageDeflate: false,
    // decodeMessage checks UTF-8 itself and reports badFrame; ws would close the link with 1007
    skipUTF8Validation: true,
  };
}

function rawDataBytes(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  // cutting may split a character; the decoder replaces the stray bytes, so trim the replacement
  return bytes.subarray(0, maxBytes).toString('utf8').replace(/\uFFFD+$/, '');
}

/** A frame as queued: its text and its size in UTF-8 bytes. */
interface TextFrame {
  text: string;
  bytes: number;
}

/** Frames admitted in one tick, sent as one WebSocket message once the tick's sends are in. */
interface PendingBatch {
  texts: string[];
  /** UTF-8 bytes of the batch frame so far: brackets and commas included */
  bytes: number;
  written: Promise<void>;
}

export class WebSocketConnection extends FramedConnection<TextFrame> {
  readonly kind = 'websocket' as const;
  private lastHeardAt = Date.now();
  /** a ping went out and nothing was heard since */
  private awaitingPong = false;
  private cutOnClose = false;
  private lastError: Error | undefined;
  private batch: PendingBatch | undefined;

  constructor(
    private readonly socket: WebSocket,
    init: FramedConnectionInit,
    private readonly liveness: ResolvedLiveness,
    /** both ends announced batch frames (usesBatchFrames): send them, and read them; else an array is a bad frame */
    private readonly batchFrames = false,
  ) {
    super(init);
    const heard = (): void => {
      this.lastHeardAt = Date.now();
      this.awaitingPong = false;
    };
    socket.on('message', (data: RawData, isBinary: boolean) => {
      heard();
      if (isBinary) {
        this.reportBadFrame(
          new ProtocolError('INVALID_FRAME', 'binary WebSocket frame refused: the hub protocol sends one JSON message per text frame'),
        );
        return;
      }
      this.receiveFrame(rawDataBytes(data), this.batchFrames);
    });
    socket.on('ping', heard);
    socket.on('pong', heard);
    socket.on('error', (error: Error & { code?: string }) => {
      this.lastError = error;
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        // ws closes with 1009 right after this; the frame was too big even to read and refuse
        this.reportBadFrame(
          new ProtocolError(
            'FRAME_TOO_LARGE',
            `frame exceeds ${webSocketMaxPayload(this.limits.maxFrameBytes)} bytes (${WEBSOCKET_OVERSIZE_FACTOR} × maxFrameBytes); the link is closed with 1009`,
            { cause: error },
          ),
        );
      }
    });
    socket.on('close', (code: number, reason: Buffer) => {
      stopProbing(this, liveness.keepaliveIntervalMs);
      const why = reason.length > 0 ? reason.toString('utf8') : this.lastError?.message ?? 'no reason given';
      this.finish({ local: false, reason: `websocket closed with ${code}: ${why}` });
    });
    // read nothing more until someone listens (see FramedConnection.deliver)
    socket.pause();
    void this.released.then(() => {
      if (!this.readingPaused) socket.resume();
    });
    // one shared timer probes every link of this interval (a timer per link costs 10,000 edges 10,000 timers)
    startProbing(this, liveness.keepaliveIntervalMs);
  }

  protected frameOf(text: string): { frame: TextFrame; bytes: number } {
    const bytes = Buffer.byteLength(text, 'utf8');
    return { frame: { text, bytes }, bytes };
  }

  protected writeFrame(frame: TextFrame): Promise<void> {
    if (!this.batchFrames) return this.sendText(frame.text);
    // frames admitted in the same tick go out as one WebSocket message: per message, ws framing, a TLS
    // record, a socket write and the peer's message event cost about as much as the JSON itself
    let batch = this.batch;
    if (batch === undefined || (batch.texts.length > 0 && batch.bytes + frame.bytes + 1 > MAX_BATCH_BYTES)) {
      const next: PendingBatch = { texts: [], bytes: 2, written: Promise.resolve() };
      next.written = Promise.resolve().then(() => this.flush(next));
      this.batch = next;
      batch = next;
    }
    batch.texts.push(frame.text);
    batch.bytes += frame.bytes + (batch.texts.length > 1 ? 1 : 0);
    return batch.written;
  }

  /** Sends `batch` unless it went already: alone, a frame goes as it is (one message, not an array). */
  private flush(batch: PendingBatch): Promise<void> {
    if (this.batch === batch) this.batch = undefined;
    const { texts } = batch;
    if (texts.length === 0) return Promise.resolve();
    batch.texts = [];
    return this.sendText(texts.length === 1 ? (texts[0] as string) : encodeBatch(texts));
  }

  private sendText(text: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // the callback runs once ws has handed the frame to the TCP socket
      this.socket.send(text, { binary: false }, (error) => (error ? reject(error) : resolve()));
    });
  }

  protected readingPauseChanged(paused: boolean): void {
    // ws pauses the TCP socket: the kernel's receive buffer fills and TCP flow control stops the peer
    if (paused) this.socket.pause();
    else if (!this.holding) this.socket.resume();
  }

  protected closeTransport(reason: string): Promise<void> {
    stopProbing(this, this.liveness.keepaliveIntervalMs);
    // what was admitted this tick goes before the close frame, as it would have unbatched
    if (this.batch !== undefined && this.socket.readyState === WebSocket.OPEN) void this.flush(this.batch).catch(() => undefined);
    // a connection nobody listened to is still paused; it must read to see the peer's close frame
    this.socket.resume();
    return new Promise<void>((resolve) => {
      if (this.socket.readyState === WebSocket.CLOSED) {
        resolve();
        return;
      }
      this.socket.once('close', () => resolve());
      if (this.cutOnClose) {
        this.socket.terminate();
        return;
      }
      this.socket.close(1000, truncateUtf8(reason, MAX_CLOSE_REASON_BYTES));
      // a dead peer never answers the close frame
      setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS).unref();
    });
  }

  /**
   * Called by the probe wheel once per keepalive interval. A peer heard from since about the last probe
   * (its keepalives, its own pings, its pongs) is alive and is not pinged: a ping and its pong cost both
   * ends a TLS record each, which for 10,000 idle edges is much of the cloud's idle CPU. An edge sends a
   * keepalive every interval, so the cloud never pings it; the cloud sends an idle edge nothing, so the
   * edge pings every other probe (its pong counts as heard at the next). A peer is cut only when a ping
   * went unanswered and it stayed silent for idleTimeoutMs: one that only answers pings is never cut, and a
   * dead one is cut within about idleTimeoutMs plus 1.25 intervals.
   */
  probe(): void {
    const silentMs = Date.now() - this.lastHeardAt;
    if (this.awaitingPong && silentMs >= this.liveness.idleTimeoutMs) {
      // a silent peer will not answer a close handshake either
      this.cutOnClose = true;
      this.abort(`idle timeout: nothing heard from the peer for ${silentMs} ms`);
      return;
    }
    // a quarter interval of slack: a peer whose keepalive timer has our period (and drifts) is not pinged
    if (silentMs < this.liveness.keepaliveIntervalMs * 1.25) return;
    if (this.socket.readyState === WebSocket.OPEN) {
      this.awaitingPong = true;
      this.socket.ping();
    }
  }
}

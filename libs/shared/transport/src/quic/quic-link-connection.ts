// One hub link over QUIC: a single bidirectional stream of length-prefixed JSON frames.
import type { QUICConnection, QUICStream } from '@matrixai/quic';
import { ProtocolError } from '@kedge/protocol';
import { FramedConnection } from '../framed-connection';
import type { FramedConnectionInit } from '../framed-connection';
import { FRAME_HEADER_BYTES, LengthPrefixedFrameReader, encodeFrameHeader } from './length-prefixed-frame-reader';
import { describeTlsAlert } from './quic-tls';
import type { QuicRuntime } from './load-quic';

/** QUIC application close codes of the hub protocol */
export const QuicCloseCode = {
  Normal: 0,
  ProtocolViolation: 1,
  IdentityRefused: 2,
  IdleTimeout: 3,
} as const;

/**
 * An empty frame. The dialer sends one to open its stream (a QUIC peer learns of a stream only when
 * bytes arrive on it); the hub answers with one once it accepted the node. Readers ignore empty frames.
 */
export const OPEN_FRAME = encodeFrameHeader(0);

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** A readable reason for whatever @matrixai/quic reports when a connection ends. */
export function describeQuicClose(error: unknown): string {
  const data = (error as { data?: { isApp?: boolean; errorCode?: number; reason?: Uint8Array } } | undefined)?.data;
  const reason = data?.reason !== undefined && data.reason.byteLength > 0 ? utf8Decoder.decode(data.reason) : undefined;
  const name = error instanceof Error ? error.name : 'unknown';
  const side = name.includes('Peer') ? 'peer' : 'local';
  if (name.includes('IdleTimeout')) return 'idle timeout: nothing heard from the peer';
  if (data?.errorCode !== undefined) {
    const alert = data.isApp ? undefined : describeTlsAlert(data.errorCode);
    const code = alert ?? `${data.isApp ? 'application' : 'transport'} code ${data.errorCode}`;
    return `${side} closed the QUIC connection (${code})${reason !== undefined ? `: ${reason}` : ''}`;
  }
  return error instanceof Error ? error.message : 'QUIC connection closed';
}

/** most bytes coalesced into one stream write */
const MAX_BATCH_BYTES = 256 * 1024;

interface FrameBatch {
  frames: Uint8Array[];
  bytes: number;
  written: Promise<void>;
}

function concatenate(frames: Uint8Array[], bytes: number): Uint8Array {
  const [only] = frames;
  if (frames.length === 1 && only !== undefined) return only;
  const out = new Uint8Array(bytes);
  let offset = 0;
  for (const frame of frames) {
    out.set(frame, offset);
    offset += frame.byteLength;
  }
  return out;
}

export interface QuicLinkInit extends FramedConnectionInit {
  runtime: QuicRuntime;
  connection: QUICConnection;
  stream: QUICStream;
  /** tears the QUIC connection down with an application close code and reason */
  stop: (code: number, reason: string) => Promise<void>;
}

export class QuicLinkConnection extends FramedConnection<Uint8Array> {
  readonly kind = 'quic' as const;
  /** resolves when the first frame from the peer arrived (for a dialer: the hub accepted it) */
  readonly opened: Promise<void>;
  private markOpened!: () => void;
  private failOpened!: (error: Error) => void;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly stopConnection: QuicLinkInit['stop'];
  private closeCode: number = QuicCloseCode.Normal;
  private batch: FrameBatch | undefined;
  /** set while reading is paused; the read loop waits for it before reading the next chunk */
  private readResumed: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(init: QuicLinkInit) {
    super(init);
    this.stopConnection = init.stop;
    this.opened = new Promise<void>((resolve, reject) => {
      this.markOpened = resolve;
      this.failOpened = reject;
    });
    this.opened.catch(() => undefined);
    this.writer = init.stream.writable.getWriter();
    // writer errors surface through send(); this only keeps them from being unhandled
    this.writer.closed.catch(() => undefined);
    const { events } = init.runtime.quic;
    init.connection.addEventListener(
      events.EventQUICConnectionError.name,
      (event: Event) => this.ended(describeQuicClose((event as Event & { detail?: unknown }).detail)),
      { once: true },
    );
    init.connection.addEventListener(events.EventQUICConnectionStopped.name, () => this.ended('QUIC connection stopped'), {
      once: true,
    });
    void this.readLoop(init.stream);
  }

  /** Writes the empty frame that opens the stream or acknowledges the peer. */
  sendOpenFrame(): Promise<void> {
    return this.writer.write(OPEN_FRAME);
  }

  protected frameOf(text: string): { frame: Uint8Array; bytes: number } {
    const payload = utf8.encode(text);
    const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength);
    new DataView(frame.buffer).setUint32(0, payload.byteLength, false);
    frame.set(payload, FRAME_HEADER_BYTES);
    return { frame, bytes: frame.byteLength };
  }

  protected writeFrame(frame: Uint8Array): Promise<void> {
    // frames admitted in the same tick go out as one stream write: one write per frame costs a
    // packet and a round of event dispatch each, which caps a link at a few thousand messages/s
    let batch = this.batch;
    if (batch === undefined || batch.bytes + frame.byteLength > MAX_BATCH_BYTES) {
      const next: FrameBatch = { frames: [], bytes: 0, written: Promise.resolve() };
      next.written = Promise.resolve().then(() => {
        if (this.batch === next) this.batch = undefined;
        // resolves once quiche took every byte into its stream buffer (flow control permitting)
        return this.writer.write(concatenate(next.frames, next.bytes));
      });
      this.batch = next;
      batch = next;
    }
    batch.frames.push(frame);
    batch.bytes += frame.byteLength;
    return batch.written;
  }

  protected closeTransport(reason: string): Promise<void> {
    this.readingPauseChanged(false);
    return this.stopConnection(this.closeCode, reason);
  }

  protected readingPauseChanged(paused: boolean): void {
    if (paused) {
      if (this.readResumed !== undefined) return;
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      this.readResumed = { promise, resolve };
      return;
    }
    const waiting = this.readResumed;
    this.readResumed = undefined;
    waiting?.resolve();
  }

  private ended(reason: string): void {
    this.readingPauseChanged(false);
    this.failOpened(new Error(reason));
    this.finish({ local: false, reason });
  }

  private async readLoop(stream: QUICStream): Promise<void> {
    const reader = stream.readable.getReader();
    const frames = new LengthPrefixedFrameReader(this.limits.maxFrameBytes);
    const onFrame = (frame: Uint8Array): void => {
      this.markOpened();
      if (frame.byteLength > 0) this.receiveFrame(frame);
    };
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          this.abortWith(QuicCloseCode.Normal, 'peer ended its stream');
          return;
        }
        // paused (rate or in-flight limits): hold this one chunk and take no more stream data, so the
        // peer runs out of stream credit
        while (this.readResumed !== undefined && !this.closed) await this.readResumed.promise;
        if (this.closed) return;
        frames.push(value, onFrame);
        // without a listener yet, hold at most this chunk's frames and let QUIC flow control push back
        if (this.holding) await this.released;
      }
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.reportBadFrame(error);
        this.abortWith(QuicCloseCode.ProtocolViolation, `protocol violation: ${error.message}`);
        return;
      }
      // usually the connection went down and its error event, a turn later, carries the better reason
      const reason = `stream failed: ${error instanceof Error ? error.message : String(error)}`;
      setImmediate(() => this.abortWith(QuicCloseCode.Normal, reason));
    } finally {
      reader.releaseLock();
    }
  }

  private abortWith(code: number, reason: string): void {
    if (this.closed) return;
    this.closeCode = code;
    this.abort(reason);
  }
}

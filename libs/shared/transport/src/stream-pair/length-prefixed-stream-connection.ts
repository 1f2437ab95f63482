// What QUIC and WebTransport share: a hub link is one bidirectional WHATWG stream pair carrying
// length-prefixed JSON frames. This class does the framing, the same-tick write batching, the open frame
// and the paused read loop; a transport supplies only how its connection closes and reports its end.
import { ProtocolError } from '@kedge/protocol';
import { FramedConnection } from '../framed-connection';
import type { FramedConnectionInit } from '../framed-connection';
import { FRAME_HEADER_BYTES, LengthPrefixedFrameReader, encodeFrameHeader } from './length-prefixed-frame-reader';

/** Application (QUIC) and session (WebTransport) close codes of the hub protocol: the same numbers on both. */
export const StreamLinkCloseCode = {
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

/** most bytes coalesced into one stream write */
const MAX_BATCH_BYTES = 256 * 1024;

const utf8 = new TextEncoder();

export interface ByteStreamPair {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}

export interface LengthPrefixedStreamInit extends FramedConnectionInit {
  stream: ByteStreamPair;
}

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

export abstract class LengthPrefixedStreamConnection extends FramedConnection<Uint8Array> {
  /** resolves when the first frame from the peer arrived (for a dialer: the hub accepted it) */
  readonly opened: Promise<void>;
  private markOpened!: () => void;
  private failOpened!: (error: Error) => void;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  /** the close code closeTransport sends: Normal unless abortWith chose another */
  protected closeCode: number = StreamLinkCloseCode.Normal;
  private batch: FrameBatch | undefined;
  /** set while reading is paused; the read loop waits for it before reading the next chunk */
  private readResumed: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(init: LengthPrefixedStreamInit) {
    super(init);
    this.opened = new Promise<void>((resolve, reject) => {
      this.markOpened = resolve;
      this.failOpened = reject;
    });
    this.opened.catch(() => undefined);
    this.writer = init.stream.writable.getWriter();
    // writer errors surface through send(); this only keeps them from being unhandled
    this.writer.closed.catch(() => undefined);
  }

  /** Writes the empty frame that opens the stream or acknowledges the peer. */
  sendOpenFrame(): Promise<void> {
    return this.writer.write(OPEN_FRAME);
  }

  /** Called for every chunk read from the stream, before it is parsed (e.g. to note the peer is alive). */
  protected chunkArrived(): void {}

  /**
   * The stream failed with something other than a protocol violation; `abortNow` closes the link.
   * Usually the connection went down and its own end event, a turn later, carries the better reason,
   * so a transport waits that turn before calling abortNow.
   */
  protected abstract streamFailed(abortNow: () => void): void;

  protected frameOf(text: string): { frame: Uint8Array; bytes: number } {
    const payload = utf8.encode(text);
    const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength);
    new DataView(frame.buffer).setUint32(0, payload.byteLength, false);
    frame.set(payload, FRAME_HEADER_BYTES);
    return { frame, bytes: frame.byteLength };
  }

  protected writeFrame(frame: Uint8Array): Promise<void> {
    // frames admitted in the same tick go out as one stream write: one write per frame costs a packet
    // (QUIC) or a capsule (WebTransport) and a round of event dispatch each, which caps a link at a few
    // thousand messages/s
    let batch = this.batch;
    if (batch === undefined || batch.bytes + frame.byteLength > MAX_BATCH_BYTES) {
      const next: FrameBatch = { frames: [], bytes: 0, written: Promise.resolve() };
      next.written = Promise.resolve().then(() => {
        if (this.batch === next) this.batch = undefined;
        // resolves once the stream took every byte into its buffer (flow control permitting)
        return this.writer.write(concatenate(next.frames, next.bytes));
      });
      this.batch = next;
      batch = next;
    }
    batch.frames.push(frame);
    batch.bytes += frame.byteLength;
    return batch.written;
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

  /** The connection under the stream is gone (either side said so): fail `opened`, emit `close`. */
  protected ended(reason: string): void {
    this.readingPauseChanged(false);
    this.failOpened(new Error(reason));
    this.finish({ local: false, reason });
  }

  /** Starts the read loop; a transport calls it last in its constructor, once its end events are wired. */
  protected startReading(stream: ByteStreamPair): void {
    void this.readLoop(stream);
  }

  private async readLoop(stream: ByteStreamPair): Promise<void> {
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
          this.abortWith(StreamLinkCloseCode.Normal, 'peer ended its stream');
          return;
        }
        this.chunkArrived();
        // paused (rate or in-flight limits): hold this one chunk and take no more stream data, so the
        // stream's flow control stops the peer
        while (this.readResumed !== undefined && !this.closed) await this.readResumed.promise;
        if (this.closed) return;
        frames.push(value, onFrame);
        // without a listener yet, hold at most this chunk's frames and let flow control push back
        if (this.holding) await this.released;
      }
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.reportBadFrame(error);
        this.abortWith(StreamLinkCloseCode.ProtocolViolation, `protocol violation: ${error.message}`);
        return;
      }
      const reason = `stream failed: ${error instanceof Error ? error.message : String(error)}`;
      this.streamFailed(() => this.abortWith(StreamLinkCloseCode.Normal, reason));
    } finally {
      reader.releaseLock();
    }
  }

  /** Closes the link with this close code for the peer (closeTransport sends this.closeCode). */
  protected abortWith(code: number, reason: string): void {
    if (this.closed) return;
    this.closeCode = code;
    this.abort(reason);
  }
}

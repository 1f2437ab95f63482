// One hub link over WebTransport (HTTP/2): a single bidirectional WebTransport stream of
// length-prefixed JSON frames, exactly the framing of the QUIC transport.
import { ProtocolError } from '@kedge/protocol';
import { FramedConnection } from '../framed-connection';
import type { FramedConnectionInit } from '../framed-connection';
import type { ResolvedLiveness } from '../options';
import { FRAME_HEADER_BYTES, LengthPrefixedFrameReader, encodeFrameHeader } from '../quic/length-prefixed-frame-reader';
import type { LibraryWtSession, LibraryWtStream } from './load-webtransport';

/** WebTransport session close codes of the hub protocol (the same numbers as QUIC's) */
export const WebTransportCloseCode = {
  Normal: 0,
  ProtocolViolation: 1,
  IdentityRefused: 2,
  IdleTimeout: 3,
} as const;

/** An empty frame: the edge opens its stream with it, the hub answers with one once it accepted the node. */
export const OPEN_FRAME = encodeFrameHeader(0);

/** most bytes coalesced into one stream write */
const MAX_BATCH_BYTES = 256 * 1024;
/** how long a closing side waits for its close capsule to leave before cutting the connection */
const CLOSE_FLUSH_MS = 1_000;

const utf8 = new TextEncoder();

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

/** The HTTP/2 connection under the session: probed for liveness, cut when the link ends. */
export interface Http2Carrier {
  ping(callback: (error: Error | null) => void): boolean;
  /** tears the TLS connection down */
  destroy(): void;
  /** resolves when the TLS connection is gone */
  gone: Promise<void>;
}

export interface WebTransportLinkInit extends FramedConnectionInit {
  session: LibraryWtSession;
  stream: LibraryWtStream;
  carrier: Http2Carrier;
  liveness: ResolvedLiveness;
}

export class WebTransportLinkConnection extends FramedConnection<Uint8Array> {
  readonly kind = 'webtransport' as const;
  /** resolves when the first frame from the peer arrived (for a dialer: the hub accepted it) */
  readonly opened: Promise<void>;
  private markOpened!: () => void;
  private failOpened!: (error: Error) => void;
  private readonly session: LibraryWtSession;
  private readonly carrier: Http2Carrier;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private closeCode: number = WebTransportCloseCode.Normal;
  private batch: FrameBatch | undefined;
  private readResumed: { promise: Promise<void>; resolve: () => void } | undefined;
  private lastHeard = Date.now();
  private readonly liveness: NodeJS.Timeout;

  constructor(init: WebTransportLinkInit) {
    super(init);
    this.session = init.session;
    this.carrier = init.carrier;
    this.opened = new Promise<void>((resolve, reject) => {
      this.markOpened = resolve;
      this.failOpened = reject;
    });
    this.opened.catch(() => undefined);
    this.writer = init.stream.writable.getWriter();
    this.writer.closed.catch(() => undefined);
    init.session.closed.then(
      (info) => this.ended(`peer closed the session${info?.reason ? `: ${info.reason}` : ''}`),
      (error: unknown) => this.ended(`session failed: ${error instanceof Error ? error.message : String(error)}`),
    );
    void init.carrier.gone.then(() => this.ended('the HTTP/2 connection is gone'));
    // HTTP/2 PINGs prove the peer alive even while we pause reading the stream
    const { keepaliveIntervalMs, idleTimeoutMs } = init.liveness;
    this.liveness = setInterval(() => {
      if (Date.now() - this.lastHeard > idleTimeoutMs) {
        this.abortWith(WebTransportCloseCode.IdleTimeout, 'idle timeout: nothing heard from the peer');
        return;
      }
      try {
        init.carrier.ping((error) => {
          if (error === null) this.lastHeard = Date.now();
        });
      } catch {
        // the session is closing; its close event reports it
      }
    }, Math.min(keepaliveIntervalMs, Math.max(1, Math.floor(idleTimeoutMs / 3))));
    this.liveness.unref();
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
    // frames admitted in the same tick go out as one stream write (one capsule instead of many)
    let batch = this.batch;
    if (batch === undefined || batch.bytes + frame.byteLength > MAX_BATCH_BYTES) {
      const next: FrameBatch = { frames: [], bytes: 0, written: Promise.resolve() };
      next.written = Promise.resolve().then(() => {
        if (this.batch === next) this.batch = undefined;
        // resolves once the stream took the bytes (WebTransport flow control permitting)
        return this.writer.write(concatenate(next.frames, next.bytes));
      });
      this.batch = next;
      batch = next;
    }
    batch.frames.push(frame);
    batch.bytes += frame.byteLength;
    return batch.written;
  }

  protected async closeTransport(reason: string): Promise<void> {
    clearInterval(this.liveness);
    this.readingPauseChanged(false);
    try {
      // the close capsule carries the reason to the peer
      this.session.close({ closeCode: this.closeCode, reason: reason.slice(0, 1024) });
    } catch {
      // already closed
    }
    const flushed = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_FLUSH_MS).unref());
    await Promise.race([this.session.closed.then(() => undefined, () => undefined), flushed]);
    this.carrier.destroy();
    await Promise.race([this.carrier.gone, flushed]);
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
    clearInterval(this.liveness);
    this.readingPauseChanged(false);
    this.failOpened(new Error(reason));
    if (!this.closed) this.carrier.destroy();
    this.finish({ local: false, reason });
  }

  private async readLoop(stream: LibraryWtStream): Promise<void> {
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
          this.abortWith(WebTransportCloseCode.Normal, 'peer ended its stream');
          return;
        }
        this.lastHeard = Date.now();
        // paused: hold this chunk and read no more, so the stream's flow control stops the peer
        while (this.readResumed !== undefined && !this.closed) await this.readResumed.promise;
        if (this.closed) return;
        frames.push(value, onFrame);
        if (this.holding) await this.released;
      }
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.reportBadFrame(error);
        this.abortWith(WebTransportCloseCode.ProtocolViolation, `protocol violation: ${error.message}`);
        return;
      }
      // usually the session went down and its closed promise, a turn later, carries the better reason
      const reason = `stream failed: ${error instanceof Error ? error.message : String(error)}`;
      setTimeout(() => this.abortWith(WebTransportCloseCode.Normal, reason), 50);
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

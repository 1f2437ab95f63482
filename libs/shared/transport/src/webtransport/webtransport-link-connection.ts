// One hub link over WebTransport (HTTP/2): a single bidirectional WebTransport stream of
// length-prefixed JSON frames, exactly the framing of the QUIC transport.
import type { ResolvedLiveness } from '../options';
import { LengthPrefixedStreamConnection, StreamLinkCloseCode } from '../stream-pair/length-prefixed-stream-connection';
import type { LengthPrefixedStreamInit } from '../stream-pair/length-prefixed-stream-connection';
import type { LibraryWtSession, LibraryWtStream } from './load-webtransport';

/** WebTransport session close codes of the hub protocol (the same numbers as QUIC's) */
export const WebTransportCloseCode = StreamLinkCloseCode;

/** how long a closing side waits for its close capsule to leave before cutting the connection */
const CLOSE_FLUSH_MS = 1_000;

/** The HTTP/2 connection under the session: probed for liveness, cut when the link ends. */
export interface Http2Carrier {
  ping(callback: (error: Error | null) => void): boolean;
  /** tears the TLS connection down */
  destroy(): void;
  /** resolves when the TLS connection is gone */
  gone: Promise<void>;
}

export interface WebTransportLinkInit extends LengthPrefixedStreamInit {
  session: LibraryWtSession;
  stream: LibraryWtStream;
  carrier: Http2Carrier;
  liveness: ResolvedLiveness;
}

export class WebTransportLinkConnection extends LengthPrefixedStreamConnection {
  readonly kind = 'webtransport' as const;
  private readonly session: LibraryWtSession;
  private readonly carrier: Http2Carrier;
  private lastHeard = Date.now();
  private readonly liveness: NodeJS.Timeout;

  constructor(init: WebTransportLinkInit) {
    super(init);
    this.session = init.session;
    this.carrier = init.carrier;
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
    this.startReading(init.stream);
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

  protected override chunkArrived(): void {
    this.lastHeard = Date.now();
  }

  protected streamFailed(abortNow: () => void): void {
    // the session's closed promise, a little later, carries the better reason
    setTimeout(abortNow, 50);
  }

  protected override ended(reason: string): void {
    clearInterval(this.liveness);
    if (!this.closed) this.carrier.destroy();
    super.ended(reason);
  }
}

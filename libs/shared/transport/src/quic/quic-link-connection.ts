// One hub link over QUIC: a single bidirectional stream of length-prefixed JSON frames.
import type { QUICConnection, QUICStream } from '@matrixai/quic';
import { LengthPrefixedStreamConnection, StreamLinkCloseCode } from '../stream-pair/length-prefixed-stream-connection';
import type { LengthPrefixedStreamInit } from '../stream-pair/length-prefixed-stream-connection';
import { describeTlsAlert } from './quic-tls';
import type { QuicRuntime } from './load-quic';

/** QUIC application close codes of the hub protocol */
export const QuicCloseCode = StreamLinkCloseCode;

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

export interface QuicLinkInit extends LengthPrefixedStreamInit {
  runtime: QuicRuntime;
  connection: QUICConnection;
  stream: QUICStream;
  /** tears the QUIC connection down with an application close code and reason */
  stop: (code: number, reason: string) => Promise<void>;
}

export class QuicLinkConnection extends LengthPrefixedStreamConnection {
  readonly kind = 'quic' as const;
  private readonly stopConnection: QuicLinkInit['stop'];

  constructor(init: QuicLinkInit) {
    super(init);
    this.stopConnection = init.stop;
    const { events } = init.runtime.quic;
    init.connection.addEventListener(
      events.EventQUICConnectionError.name,
      (event: Event) => this.ended(describeQuicClose((event as Event & { detail?: unknown }).detail)),
      { once: true },
    );
    init.connection.addEventListener(events.EventQUICConnectionStopped.name, () => this.ended('QUIC connection stopped'), {
      once: true,
    });
    this.startReading(init.stream);
  }

  protected closeTransport(reason: string): Promise<void> {
    this.readingPauseChanged(false);
    return this.stopConnection(this.closeCode, reason);
  }

  protected streamFailed(abortNow: () => void): void {
    // the connection's error event, a turn later, carries the better reason
    setImmediate(abortNow);
  }
}

// The cloud end of the QUIC transport: quiche verifies the client certificate against the hub CA
// during the handshake; the node name then comes from that verified certificate's CN.
import type { QUICConnection, QUICServer, QUICServerConfigInput, QUICServerCrypto, QUICStream } from '@matrixai/quic';
import type { LinkLimits } from '../connection';
import { ConnectionGate, isGateRefusal } from '../connection-gate';
import { IdentityError } from '../errors';
import { nodeIdentityOf, type NodeIdentity } from '../identity';
import { HubListenerBase } from '../hub-listener-base';
import type { RefusalCategory } from '../listener-handlers';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, formatAddress, resolveLimits, resolveLiveness } from '../options';
import type { ListenHubOptions, ResolvedLiveness } from '../options';
import { requireQuic } from './load-quic';
import type { QuicRuntime } from './load-quic';
import { QuicCloseCode, QuicLinkConnection, describeQuicClose } from './quic-link-connection';
import { retryTokenCrypto } from './quic-tls';

/** ALPN of the hub protocol over QUIC; both ends must offer it */
export const QUIC_HUB_ALPN = 'kedge-hub';
/** QUIC carries the close reason in one packet; keep it short */
const MAX_CLOSE_REASON_BYTES = 256;

const utf8 = new TextEncoder();

export function closeReasonBytes(reason: string): Uint8Array {
  return utf8.encode(reason).subarray(0, MAX_CLOSE_REASON_BYTES);
}

type ConnectionEventObserver = (connection: QUICConnection, event: Event) => void;
/** says whether a new connection from `host` may be created; refusing drops its Initial packet */
type AdmitConnection = (host: string, port: number, openNow: number) => boolean;

interface ServerInit {
  crypto: QUICServerCrypto;
  config: QUICServerConfigInput;
  /** with @matrixai/quic this bounds the TLS handshake of an accepted connection */
  minIdleTimeout: number;
  logger: QuicRuntime['logger'];
}

/**
 * A QUICServer that shows us every event of every connection it accepts, with the connection. The
 * public server events are clones without their target, so a failed handshake could not be tied to
 * an address, and streams opened in the packet that completes the handshake would arrive before
 * EventQUICServerConnection announces the connection.
 */
function createObservedServer(runtime: QuicRuntime, init: ServerInit, observe: ConnectionEventObserver, admit: AdmitConnection): QUICServer {
  class ObservedQuicServer extends runtime.quic.QUICServer {
    constructor() {
      super(init);
      const forward = this.handleEventQUICConnection;
      this.handleEventQUICConnection = (event) => {
        observe(event.target as QUICConnection, event.detail as Event);
        forward(event);
      };
    }

    /**
     * The server validates the retry token of an Initial packet right before it creates a connection
     * for it, so the source address is proven (stateless retry) and no connection state exists yet:
     * the one place to apply per-IP limits. An undefined result drops the packet like a bad token.
     */
    protected override async validateToken(...args: Parameters<QUICServer['validateToken']>): ReturnType<QUICServer['validateToken']> {
      const [, peerHost] = args;
      // the socket's connection map is @internal in the typings (pinned @matrixai/quic 2.x); without it
      // only the per-IP rate applies
      const socket = this.socket as unknown as { connectionMap?: { serverConnections?: ReadonlyMap<string, QUICConnection> } };
      let open = 0;
      for (const connection of socket.connectionMap?.serverConnections?.values() ?? []) {
        if (connection.remoteHost === peerHost) open += 1;
      }
      if (!admit(peerHost, 0, open)) return undefined;
      return super.validateToken(...args);
    }
  }
  return new ObservedQuicServer();
}

function addressOf(connection: QUICConnection): string {
  return formatAddress(connection.remoteHost, connection.remotePort);
}

export class QuicHubListener extends HubListenerBase {
  readonly kind = 'quic' as const;
  /** connections that completed the TLS handshake, client certificate verified */
  private readonly established = new WeakSet<QUICConnection>();
  /** connections whose refusal was reported, so it is reported once */
  private readonly refusedAlready = new WeakSet<QUICConnection>();
  /** streams that arrived before anyone waited for them */
  private readonly earlyStreams = new WeakMap<QUICConnection, QUICStream[]>();
  private readonly streamTakers = new WeakMap<QUICConnection, (stream: QUICStream) => void>();
  private server!: QUICServer;

  private constructor(
    private readonly runtime: QuicRuntime,
    private readonly limits: LinkLimits,
    private readonly handshakeTimeoutMs: number,
    private readonly gate: ConnectionGate,
  ) {
    super();
  }

  static async listen(options: ListenHubOptions): Promise<QuicHubListener> {
    const runtime = await requireQuic();
    const limits = resolveLimits(options.limits);
    const liveness: ResolvedLiveness = resolveLiveness(options);
    const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    const listener = new QuicHubListener(runtime, limits, handshakeTimeoutMs, new ConnectionGate(options.connectionLimits));
    const server = createObservedServer(
      runtime,
      {
        crypto: retryTokenCrypto(),
        config: {
          key: options.tls.key,
          cert: options.tls.cert,
          ca: options.tls.ca,
          // quiche requests the client certificate and verifies it against `ca` natively
          verifyPeer: true,
          maxIdleTimeout: liveness.idleTimeoutMs,
          keepAliveIntervalTime: liveness.keepaliveIntervalMs,
          applicationProtos: [QUIC_HUB_ALPN],
        },
        minIdleTimeout: handshakeTimeoutMs,
        logger: runtime.logger,
      },
      (connection, event) => listener.observe(connection, event),
      (host, port, openNow) => listener.admit(host, port, openNow),
    );
    listener.server = server;
    server.addEventListener(runtime.quic.events.EventQUICServerConnection.name, (event: Event) => {
      void listener.accept((event as Event & { detail: QUICConnection }).detail);
    });
    await server.start({ host: options.host, port: options.port });
    return listener;
  }

  get port(): number {
    return this.server.port;
  }

  protected async shutDown(): Promise<void> {
    await this.closeLinks();
    // force: half-open handshakes are cut rather than waited for
    await this.server.stop({ isApp: true, errorCode: QuicCloseCode.Normal, force: true });
  }

  private observe(connection: QUICConnection, event: Event): void {
    const { events } = this.runtime.quic;
    if (event instanceof events.EventQUICConnectionStream) {
      const take = this.streamTakers.get(connection);
      if (take !== undefined) take(event.detail);
      else this.earlyStreams.set(connection, [...(this.earlyStreams.get(connection) ?? []), event.detail]);
    } else if (event instanceof events.EventQUICConnectionError && !this.established.has(connection)) {
      const reason = describeQuicClose(event.detail);
      const timedOut = /idle timeout|timed? ?out/i.test(reason);
      this.reportRefusal(connection, `QUIC handshake failed: ${reason}`, timedOut ? 'handshake-timeout' : 'tls-handshake');
    }
  }

  private admit(host: string, port: number, openNow: number): boolean {
    // QUIC counts its live connections itself (openNow), so the gate only judges, it keeps no count
    const admitted = this.gate.admit(host, openNow);
    if (isGateRefusal(admitted)) {
      this.handlers.refused(formatAddress(host, port), admitted.message, admitted.reason);
      return false;
    }
    admitted.release();
    return true;
  }

  private reportRefusal(connection: QUICConnection, reason: string, category: RefusalCategory): void {
    if (this.refusedAlready.has(connection)) return;
    this.refusedAlready.add(connection);
    this.handlers.refused(addressOf(connection), reason, category);
  }

  private refuse(connection: QUICConnection, reason: string, category: RefusalCategory): void {
    this.reportRefusal(connection, reason, category);
    void connection
      .stop({ isApp: true, errorCode: QuicCloseCode.IdentityRefused, reason: closeReasonBytes(reason), force: true })
      .catch(() => undefined);
  }

  private async accept(connection: QUICConnection): Promise<void> {
    this.established.add(connection);
    if (this.closing !== undefined) {
      this.refuse(connection, 'hub is shutting down', 'shutdown');
      return;
    }
    const [leaf] = connection.getRemoteCertsChain();
    if (leaf === undefined) {
      this.refuse(connection, 'no client certificate', 'certificate');
      return;
    }
    let identity: NodeIdentity;
    try {
      identity = nodeIdentityOf(leaf);
    } catch (error) {
      this.refuse(
        connection,
        error instanceof IdentityError ? error.message : `unreadable client certificate: ${String(error)}`,
        error instanceof IdentityError ? 'identity' : 'certificate',
      );
      return;
    }
    const stream = await this.takeStream(connection);
    if (stream === undefined || connection.closed) {
      this.refuse(connection, `node "${identity.nodeName}" opened no stream within ${this.handshakeTimeoutMs} ms`, 'handshake-timeout');
      return;
    }
    const link = new QuicLinkConnection({
      runtime: this.runtime,
      connection,
      stream,
      peer: identity,
      remoteAddress: addressOf(connection),
      limits: this.limits,
      stop: (code, reason) => connection.stop({ isApp: true, errorCode: code, reason: closeReasonBytes(reason), force: true }),
    });
    // the acknowledgement goes first on the stream, before anything a handler sends
    link.sendOpenFrame().catch(() => undefined);
    this.handOver(link);
  }

  /** The first stream the edge opens; later ones are refused, one link is one stream. */
  private takeStream(connection: QUICConnection): Promise<QUICStream | undefined> {
    const refuseExtra = (extra: QUICStream): void => extra.cancel(new Error('one stream per hub link'));
    const early = this.earlyStreams.get(connection) ?? [];
    this.earlyStreams.delete(connection);
    const [first, ...extras] = early;
    extras.forEach(refuseExtra);
    if (first !== undefined) {
      this.streamTakers.set(connection, refuseExtra);
      return Promise.resolve(first);
    }
    return new Promise((resolve) => {
      const stoppedEvent = this.runtime.quic.events.EventQUICConnectionStopped.name;
      const done = (stream: QUICStream | undefined): void => {
        clearTimeout(timer);
        connection.removeEventListener(stoppedEvent, onStopped);
        this.streamTakers.set(connection, refuseExtra);
        resolve(stream);
      };
      const onStopped = (): void => done(undefined);
      const timer = setTimeout(() => done(undefined), this.handshakeTimeoutMs);
      connection.addEventListener(stoppedEvent, onStopped, { once: true });
      this.streamTakers.set(connection, done);
    });
  }
}

/** Listens for edges over QUIC (UDP) with mandatory client certificates; rejects with QuicUnavailableError where QUIC cannot run. */
export function listenQuicHub(options: ListenHubOptions): Promise<QuicHubListener> {
  return QuicHubListener.listen(options);
}

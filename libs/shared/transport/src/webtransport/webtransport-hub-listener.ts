// The cloud end of the WebTransport (HTTP/2) transport. TLS is ours: a Node TLS server with mandatory
// client certificates, the per-IP gate at TCP accept and the node identity taken from the verified
// certificate. Only an authenticated TLS socket with ALPN h2 is handed to the library's HTTP/2 server,
// which speaks the WebTransport capsules; its sessions are matched back to the socket they came on.
import { createServer } from 'node:tls';
import type { Server, TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import type { ServerHttp2Session } from 'node:http2';
import type { LinkLimits } from '../connection';
import { ConnectionGate, isGateRefusal } from '../connection-gate';
import { IdentityError } from '../errors';
import { nodeIdentityOf, type NodeIdentity } from '../identity';
import { HubListenerBase } from '../hub-listener-base';
import type { Refusal } from '../listener-handlers';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, resolveLimits, resolveLiveness } from '../options';
import type { ListenHubOptions, ResolvedLiveness } from '../options';
import { describeTlsFailure, socketAddress } from '../tls-failure';
import { listenOn, mutualTlsServerOptions } from '../tls-listener';
import { withDeadline } from '../with-deadline';
import { loadWebTransport } from './load-webtransport';
import type { LibraryHttpServer, LibraryWtSession, LibraryWtStream } from './load-webtransport';
import { WebTransportCloseCode, WebTransportLinkConnection } from './webtransport-link-connection';
import { hubFlowControl } from './flow-control';

/** The one path edges open their WebTransport session on. */
export const WEBTRANSPORT_HUB_PATH = '/kedge/hub';

/** An authenticated TLS connection waiting for (or carrying) its one WebTransport session. */
interface Carried {
  identity: NodeIdentity;
  socket: TLSSocket;
  remoteAddress: string;
  http2?: ServerHttp2Session;
  sessionTaken: boolean;
  deadline: NodeJS.Timeout;
  gone: Promise<void>;
}

/** Reads a stream of streams and refuses every one: the hub protocol has exactly one stream. */
async function refuseAll<T>(streams: ReadableStream<T>, refuse: (stream: T) => void): Promise<void> {
  const reader = streams.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      refuse(value);
    }
  } catch {
    // the session ended
  }
}

export class WebTransportHubListener extends HubListenerBase {
  readonly kind = 'webtransport' as const;
  /** authenticated TLS connections by "address:port", the key the library gives its sessions */
  private readonly carried = new Map<string, Carried>();
  private readonly refusedSockets = new WeakSet<object>();
  private readonly sessions: ReadableStreamDefaultReader<LibraryWtSession>;

  private constructor(
    private readonly server: Server,
    private readonly library: LibraryHttpServer,
    private readonly limits: LinkLimits,
    private readonly liveness: ResolvedLiveness,
    private readonly gate: ConnectionGate,
    private readonly handshakeTimeoutMs: number,
  ) {
    super();
    server.prependListener('connection', (socket: Socket) => this.admitSocket(socket));
    server.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) => {
      if (this.refusedSockets.has(socket)) return;
      const timedOut = error.code === 'ERR_TLS_HANDSHAKE_TIMEOUT';
      this.handlers.refused(
        socketAddress(socket),
        `TLS handshake failed: ${describeTlsFailure(error, socket)}${timedOut ? ` (handshake timeout ${this.handshakeTimeoutMs} ms)` : ''}`,
        timedOut ? 'handshake-timeout' : 'tls-handshake',
      );
    });
    server.on('secureConnection', (socket: TLSSocket) => this.authenticated(socket));
    const inner = library.transportInt.serverInt;
    inner.on('session', (session: ServerHttp2Session) => {
      const carried = this.carried.get(`${session.socket.remoteAddress}:${session.socket.remotePort}`);
      if (carried !== undefined) carried.http2 = session;
    });
    // session errors end in the socket closing, which the link reports
    inner.on('sessionError', () => undefined);
    this.sessions = library.sessionStream(WEBTRANSPORT_HUB_PATH).getReader();
    void this.acceptSessions();
  }

  static async listen(options: ListenHubOptions): Promise<WebTransportHubListener> {
    const limits = resolveLimits(options.limits);
    const liveness = resolveLiveness(options);
    const gate = new ConnectionGate(options.connectionLimits);
    const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    const runtime = await loadWebTransport();
    const library = new runtime.Http2Server({
      port: 0,
      host: options.host,
      // the library insists on these although it never listens itself: TLS is ours (see above)
      secret: 'unused: kedge terminates TLS',
      cert: options.tls.cert,
      privKey: options.tls.key,
      ...hubFlowControl(limits),
    });
    await library.createTransportInt();
    const server = createServer({ ...mutualTlsServerOptions(options.tls, handshakeTimeoutMs), ALPNProtocols: ['h2'] });
    await listenOn(server, options.port, options.host);
    return new WebTransportHubListener(server, library, limits, liveness, gate, handshakeTimeoutMs);
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  protected async shutDown(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.closeLinks();
    for (const carried of this.carried.values()) carried.socket.destroy();
    await this.sessions.cancel().catch(() => undefined);
    await stopped;
  }

  private admitSocket(socket: Socket): void {
    const admitted = this.gate.admit(socket.remoteAddress ?? 'unknown');
    if (isGateRefusal(admitted)) {
      this.handlers.refused(socketAddress(socket), admitted.message, admitted.reason);
      this.refusedSockets.add(socket);
      socket.destroy();
      return;
    }
    socket.once('close', admitted.release);
  }

  private refuse(socket: TLSSocket, reason: string, category: Refusal['category']): void {
    this.refusedSockets.add(socket);
    this.handlers.refused(socketAddress(socket), reason, category);
    socket.destroy();
  }

  /** A TLS handshake with a chain-verified client certificate finished: who is it, and may it go on? */
  private authenticated(socket: TLSSocket): void {
    socket.on('error', () => undefined);
    if (this.closing !== undefined) {
      this.refuse(socket, 'hub is shutting down', 'shutdown');
      return;
    }
    if (socket.alpnProtocol !== 'h2') {
      this.refuse(socket, `ALPN ${JSON.stringify(socket.alpnProtocol)} instead of h2: WebTransport runs on HTTP/2 only`, 'request');
      return;
    }
    const certificate = socket.authorized ? socket.getPeerX509Certificate() : undefined;
    if (certificate === undefined) {
      // unreachable with rejectUnauthorized, kept so a config slip cannot let an anonymous edge in
      this.refuse(socket, `a client certificate from the hub CA is required (${String(socket.authorizationError ?? 'none sent')})`, 'certificate');
      return;
    }
    let identity: NodeIdentity;
    try {
      identity = nodeIdentityOf(certificate);
    } catch (error) {
      this.refuse(socket, error instanceof IdentityError ? error.message : String(error), error instanceof IdentityError ? 'identity' : 'certificate');
      return;
    }
    const key = `${socket.remoteAddress}:${socket.remotePort}`;
    const deadline = setTimeout(() => {
      this.refuse(socket, `no WebTransport session with its stream within ${this.handshakeTimeoutMs} ms after the TLS handshake; connection cut`, 'handshake-timeout');
    }, this.handshakeTimeoutMs);
    deadline.unref();
    const gone = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const carried: Carried = { identity, socket, remoteAddress: socketAddress(socket), sessionTaken: false, deadline, gone };
    this.carried.set(key, carried);
    void gone.then(() => {
      clearTimeout(deadline);
      if (this.carried.get(key) === carried) this.carried.delete(key);
    });
    // the library's HTTP/2 server takes it from here, as if it had accepted the socket itself
    this.library.transportInt.serverInt.emit('secureConnection', socket);
  }

  private async acceptSessions(): Promise<void> {
    for (;;) {
      let next: Awaited<ReturnType<typeof this.sessions.read>>;
      try {
        next = await this.sessions.read();
      } catch {
        return;
      }
      if (next.done) return;
      void this.openLink(next.value);
    }
  }

  private async openLink(session: LibraryWtSession): Promise<void> {
    // the link reports how it ended; a refused or failed session must not leave a rejection unhandled
    session.closed.catch(() => undefined);
    const carried = session.peerAddress === undefined ? undefined : this.carried.get(session.peerAddress);
    if (carried === undefined || carried.sessionTaken) {
      // a second session on one connection, or one whose connection is already gone
      session.close({ closeCode: WebTransportCloseCode.ProtocolViolation, reason: 'one WebTransport session per connection' });
      return;
    }
    carried.sessionTaken = true;
    const deadline = Date.now() + this.handshakeTimeoutMs;
    let link: WebTransportLinkConnection;
    try {
      await withDeadline(session.ready, deadline, 'the session');
      const streams = session.incomingBidirectionalStreams.getReader();
      const first = await withDeadline(streams.read(), deadline, "the edge's stream");
      if (first.done) throw new Error('the session ended before the edge opened its stream');
      streams.releaseLock();
      void refuseAll<LibraryWtStream>(session.incomingBidirectionalStreams, (stream) => {
        void stream.readable.cancel().catch(() => undefined);
        void stream.writable.abort().catch(() => undefined);
      });
      void refuseAll<ReadableStream<Uint8Array>>(session.incomingUnidirectionalStreams, (stream) => {
        void stream.cancel().catch(() => undefined);
      });
      const http2 = carried.http2;
      link = new WebTransportLinkConnection({
        session,
        stream: first.value,
        peer: carried.identity,
        remoteAddress: carried.remoteAddress,
        limits: this.limits,
        liveness: this.liveness,
        carrier: {
          ping: (callback) => (http2 === undefined ? false : http2.ping((error) => callback(error))),
          destroy: () => carried.socket.destroy(),
          gone: carried.gone,
        },
      });
    } catch (error) {
      if (!carried.socket.destroyed) {
        this.refuse(carried.socket, `WebTransport session not opened: ${error instanceof Error ? error.message : String(error)}`, 'handshake-timeout');
      }
      return;
    }
    try {
      await withDeadline(link.opened, deadline, "the edge's open frame");
    } catch (error) {
      if (!link.closed && !carried.socket.destroyed) {
        this.handlers.refused(carried.remoteAddress, `WebTransport stream not opened: ${error instanceof Error ? error.message : String(error)}`, 'handshake-timeout');
      }
      await link.close('stream not opened in time');
      return;
    }
    clearTimeout(carried.deadline);
    if (!this.handOver(link)) return;
    // tells the edge it was accepted; its dial resolves on this
    link.sendOpenFrame().catch(() => undefined);
  }
}

/** Listens for edges over WebTransport on HTTP/2 (TLS with mandatory client certificates). */
export function listenWebTransportHub(options: ListenHubOptions): Promise<WebTransportHubListener> {
  return WebTransportHubListener.listen(options);
}

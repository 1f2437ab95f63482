// The cloud end of the WebSocket transport: HTTPS with mandatory client certificates, upgraded on
// KubeEdge's path /<projectId>/<nodeName>/events once the certificate's node matches the request.
import { Buffer } from 'node:buffer';
import { STATUS_CODES } from 'node:http';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { Socket } from 'node:net';
import type { LinkLimits } from '../connection';
import { ConnectionGate, isGateRefusal } from '../connection-gate';
import { IdentityError } from '../errors';
import { nodeIdentityOf, type NodeIdentity } from '../identity';
import { HubListenerBase } from '../hub-listener-base';
import { describeTlsFailure, socketAddress } from '../tls-failure';
import { listenOn, mutualTlsServerOptions } from '../tls-listener';
import type { RefusalCategory } from '../listener-handlers';
import { resolveLimits, resolveLiveness, DEFAULT_HANDSHAKE_TIMEOUT_MS } from '../options';
import type { ListenHubOptions, ResolvedLiveness } from '../options';
import {
  BATCH_FRAMES_HEADER,
  BATCH_FRAMES_VERSION,
  WebSocketConnection,
  announcesBatchFrames,
  readsBatchFrames,
  usesBatchFrames,
  webSocketFrameOptions,
} from './websocket-connection';

/** KubeEdge's edge URL path; the named groups say where the project and node are. */
export const DEFAULT_HUB_PATH_PATTERN = /^\/(?<projectId>[^/]+)\/(?<nodeName>[^/]+)\/events$/;

export interface ListenWebSocketHubOptions extends ListenHubOptions {
  /** must match the whole request path and capture the node in a group named `nodeName` */
  pathPattern?: RegExp;
}

class UpgradeRefused extends Error {
  override readonly name = 'UpgradeRefused';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function upgradeRefusalCategory(status: number): RefusalCategory {
  if (status === 401) return 'certificate';
  if (status === 403) return 'identity';
  if (status === 503) return 'shutdown';
  return 'request';
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const body = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** The node an upgrade request may become, or UpgradeRefused saying why not. */
function admitUpgrade(request: IncomingMessage, pathPattern: RegExp): NodeIdentity {
  if (request.headers.upgrade?.toLowerCase() !== 'websocket') {
    throw new UpgradeRefused(400, 'expected a WebSocket upgrade');
  }
  const tlsSocket = request.socket as TLSSocket;
  const certificate = tlsSocket.authorized ? tlsSocket.getPeerX509Certificate() : undefined;
  if (certificate === undefined) {
    // unreachable with rejectUnauthorized, kept so a config slip cannot let an anonymous edge in
    throw new UpgradeRefused(401, `a client certificate from the hub CA is required (${String(tlsSocket.authorizationError ?? 'none sent')})`);
  }
  let identity: NodeIdentity;
  try {
    identity = nodeIdentityOf(certificate);
  } catch (error) {
    if (error instanceof IdentityError) throw new UpgradeRefused(403, error.message);
    throw error;
  }
  const path = new URL(request.url ?? '/', 'https://hub.invalid').pathname;
  const claimed = pathPattern.exec(path)?.groups?.['nodeName'];
  if (claimed === undefined) {
    throw new UpgradeRefused(404, `path ${JSON.stringify(path)} is not /<projectId>/<nodeName>/events`);
  }
  if (claimed !== identity.nodeName) {
    throw new UpgradeRefused(403, `certificate is for node "${identity.nodeName}" but the path names node "${claimed}"`);
  }
  const header = request.headers['node_id'];
  if (header !== undefined && header !== identity.nodeName) {
    throw new UpgradeRefused(403, `certificate is for node "${identity.nodeName}" but the node_id header says ${JSON.stringify(header)}`);
  }
  return identity;
}

export class WebSocketHubListener extends HubListenerBase {
  readonly kind = 'websocket' as const;
  private readonly webSockets: WebSocketServer;
  private readonly refusedSockets = new WeakSet<object>();
  /** TLS sockets that still owe their upgrade request, with the timer that cuts them */
  private readonly upgradeDeadlines = new WeakMap<object, { timer: NodeJS.Timeout; cancel: () => void }>();

  private constructor(
    private readonly server: Server,
    private readonly limits: LinkLimits,
    private readonly liveness: ResolvedLiveness,
    private readonly pathPattern: RegExp,
    private readonly gate: ConnectionGate,
    private readonly handshakeTimeoutMs: number,
  ) {
    super();
    this.webSockets = new WebSocketServer({ noServer: true, ...webSocketFrameOptions(limits.maxFrameBytes) });
    // the 101 answer says the hub speaks batch frames; the link uses them if the edge said so too (docs/protocol.md)
    if (readsBatchFrames(limits.maxFrameBytes)) {
      this.webSockets.on('headers', (headers: string[]) => headers.push(`${BATCH_FRAMES_HEADER}: ${BATCH_FRAMES_VERSION}`));
    }
    // first of all listeners, before TLS wraps the socket: a refused source costs no handshake
    server.prependListener('connection', (socket: Socket) => this.admitSocket(socket));
    server.on('secureConnection', (socket: TLSSocket) => this.startUpgradeDeadline(socket));
    server.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) => {
      this.refusedSockets.add(socket);
      const timedOut = error.code === 'ERR_TLS_HANDSHAKE_TIMEOUT';
      this.handlers.refused(
        socketAddress(socket),
        `TLS handshake failed: ${describeTlsFailure(error, socket)}${timedOut ? ` (handshake timeout ${this.handshakeTimeoutMs} ms)` : ''}`,
        timedOut ? 'handshake-timeout' : 'tls-handshake',
      );
    });
    server.on('clientError', (error: Error, socket: Duplex) => {
      // Node reports a refused certificate here as well; it was already reported as a TLS failure
      if (!this.refusedSockets.has(socket) && (socket as TLSSocket).authorized) {
        this.handlers.refused(socketAddress(socket as TLSSocket), `malformed HTTP request: ${error.message}`, 'request');
      }
      socket.destroy();
    });
    server.on('request', (request: IncomingMessage, response) => {
      this.handlers.refused(socketAddress(request.socket), 'plain HTTPS request instead of a WebSocket upgrade', 'request');
      response.writeHead(426, { 'Content-Type': 'text/plain; charset=utf-8', Upgrade: 'websocket', Connection: 'close' });
      response.end('this endpoint only speaks WebSocket\n');
    });
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(request, socket, head));
  }

  static async listen(options: ListenWebSocketHubOptions): Promise<WebSocketHubListener> {
    const limits = resolveLimits(options.limits);
    const liveness = resolveLiveness(options);
    const gate = new ConnectionGate(options.connectionLimits);
    const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    const server = createServer(mutualTlsServerOptions(options.tls, handshakeTimeoutMs));
    await listenOn(server, options.port, options.host);
    return new WebSocketHubListener(server, limits, liveness, options.pathPattern ?? DEFAULT_HUB_PATH_PATTERN, gate, handshakeTimeoutMs);
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  protected async shutDown(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.closeLinks();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.webSockets.close(() => resolve()));
    await stopped;
  }

  /** Per-IP limits, counted from TCP accept until the socket is gone (handshakes included). */
  private admitSocket(socket: Socket): void {
    const admitted = this.gate.admit(socket.remoteAddress ?? 'unknown');
    if (isGateRefusal(admitted)) {
      this.handlers.refused(socketAddress(socket), admitted.message, admitted.reason);
      // TLS (registered after us) still wraps the socket; a destroyed one ends there, unreported
      this.refusedSockets.add(socket);
      socket.destroy();
      return;
    }
    socket.once('close', admitted.release);
  }

  /** After TLS the edge owes its upgrade request (the first frame) within the handshake timeout. */
  private startUpgradeDeadline(socket: TLSSocket): void {
    const timer = setTimeout(() => {
      this.upgradeDeadlines.delete(socket);
      if (socket.destroyed) return;
      this.refusedSockets.add(socket);
      this.handlers.refused(
        socketAddress(socket),
        `no WebSocket upgrade request within ${this.handshakeTimeoutMs} ms after the TLS handshake; connection cut`,
        'handshake-timeout',
      );
      socket.destroy();
    }, this.handshakeTimeoutMs);
    timer.unref();
    const cancel = (): void => clearTimeout(timer);
    this.upgradeDeadlines.set(socket, { timer, cancel });
    socket.once('close', cancel);
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const deadline = this.upgradeDeadlines.get(request.socket);
    if (deadline !== undefined) {
      clearTimeout(deadline.timer);
      // the close listener would keep the spent timer and its closure for the link's whole life
      request.socket.off('close', deadline.cancel);
      this.upgradeDeadlines.delete(request.socket);
    }
    const remoteAddress = socketAddress(request.socket);
    // errors on a socket that is being refused or upgraded must not crash the process
    socket.on('error', () => undefined);
    if (this.closing !== undefined) {
      refuseUpgrade(socket, 503, 'hub is shutting down');
      return;
    }
    let identity: NodeIdentity;
    try {
      identity = admitUpgrade(request, this.pathPattern);
    } catch (error) {
      const refusal = error instanceof UpgradeRefused ? error : new UpgradeRefused(500, `upgrade failed: ${String(error)}`);
      this.handlers.refused(remoteAddress, `HTTP ${refusal.status}: ${refusal.message}`, upgradeRefusalCategory(refusal.status));
      refuseUpgrade(socket, refusal.status, refusal.message);
      return;
    }
    this.webSockets.handleUpgrade(request, socket, head, (webSocket: WebSocket) => {
      const connection = new WebSocketConnection(
        webSocket,
        { peer: identity, remoteAddress, limits: this.limits },
        this.liveness,
        usesBatchFrames(readsBatchFrames(this.limits.maxFrameBytes), announcesBatchFrames(request.headers[BATCH_FRAMES_HEADER])),
      );
      this.handOver(connection);
    });
  }
}

/** Listens for edges over WebSocket (wss) with mandatory client certificates. */
export function listenWebSocketHub(options: ListenWebSocketHubOptions): Promise<WebSocketHubListener> {
  return WebSocketHubListener.listen(options);
}

// The cloud's bootstrap HTTPS endpoint (KubeEdge port 10002): hands out the CA certificate and signs
// edge node certificates. Every request is answered; nothing a client sends can stop the server.
import { X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { CertificateAuthority, IssuedCertificate, JoinTokenLedger, RevocationList } from '@kedge/pki';
import { ConnectionGate, isGateRefusal, type ConnectionLimits } from '@kedge/transport';
import { issueEdgeCertificate } from './edge-certificate-request';
import { serveGatewayFiles, type GatewayBundles, type InstallScriptAddress } from './gateway-bundles';
import { RequestRefusal, refusalFor, type RefusalReason } from './refusal';

export const DEFAULT_CERTIFICATE_PORT = 10002;
/** a client must finish TLS, and then send its request headers, within this by default */
export const DEFAULT_CERTIFICATE_HANDSHAKE_TIMEOUT_MS = 10_000;

export type CertificateServerEvent =
  | { type: 'issued'; nodeName: string; serialNumber: string; via: 'token' | 'certificate'; remoteAddress: string }
  /** /install.sh or a /bundles/ file was answered */
  | { type: 'served'; path: string; bytes: number; remoteAddress: string }
  | {
      type: 'refused';
      reason: RefusalReason;
      nodeName?: string;
      remoteAddress: string;
      /** the HTTP status sent, 0 when the TLS handshake failed and no HTTP answer was possible */
      status: number;
      message: string;
    };

export interface CertificateServerOptions {
  /** '0.0.0.0' by default */
  host?: string;
  /** 10002 by default; 0 picks a free port */
  port?: number;
  authority: CertificateAuthority;
  serverCert: IssuedCertificate;
  /** the registered join tokens and their uses (`kedgeadm token create` adds to the same store) */
  ledger: JoinTokenLedger;
  /**
   * Whether a node of this name exists: a Node object, or a live hub session. A join token is
   * refused for such a name unless this is a retry of the join that created it.
   */
  nodeExists: (nodeName: string) => Promise<boolean>;
  /** 365 by default */
  nodeCertValidityDays?: number;
  /** the current revocation list: a revoked certificate is not renewed, a re-joined node gets a certificate outside it */
  revocations?: () => Promise<RevocationList>;
  /** every issue and every refusal, for logs and metrics; a throwing listener is ignored */
  onEvent?: (event: CertificateServerEvent) => void;
  /**
   * TLS must finish within this, and the first request's headers must then arrive within it again
   * (slowloris); default 10000
   */
  handshakeTimeoutMs?: number;
  /** per-IP limits on open and new connections; defaults of @kedge/transport's DEFAULT_CONNECTION_LIMITS */
  connectionLimits?: Partial<ConnectionLimits>;
  /** /install.sh and /bundles/ from cloudHub.https.bundleDir (listed at start); without it those answer 404 saying how to build them */
  gatewayBundles?: GatewayBundles;
  /** what the served install script dials: the certificate's names and the hub's WebSocket port */
  installScriptAddress?: Omit<InstallScriptAddress, 'httpsPort'>;
  /** further APIs on this port (the device method API), each authenticating its own callers */
  apis?: readonly HttpsApi[];
}

/** An API mounted on the certificate port: it answers every request under the paths it serves, never throwing. */
export interface HttpsApi {
  serves(path: string): boolean;
  handle(request: IncomingMessage, response: ServerResponse, path: string): Promise<void>;
}

export interface CertificateServer {
  readonly port: number;
  /** stops listening and drops open connections; calling it again returns the same promise */
  close(): Promise<void>;
}

export class CertificateServerListenError extends Error {
  override readonly name = 'CertificateServerListenError';
  readonly code = 'LISTEN_FAILED';

  constructor(host: string, port: number, cause: unknown) {
    const reason = (cause as { code?: string } | null)?.code ?? String(cause);
    super(
      `the certificate server cannot listen on ${host}:${port} (${reason}); stop whatever holds the port or configure another one`,
      { cause },
    );
  }
}

export async function startCertificateServer(options: CertificateServerOptions): Promise<CertificateServer> {
  const host = options.host ?? '0.0.0.0';
  const port = options.port ?? DEFAULT_CERTIFICATE_PORT;
  const emit = (event: CertificateServerEvent): void => {
    try {
      options.onEvent?.(event);
    } catch {
      // metrics and logging must not decide whether a node gets its certificate
    }
  };
  const context = {
    authority: options.authority,
    ledger: options.ledger,
    nodeExists: options.nodeExists,
    nodeCertValidityDays: options.nodeCertValidityDays ?? 365,
    ...(options.revocations === undefined ? {} : { revocations: options.revocations }),
  };
  const caDer = new X509Certificate(options.authority.certPem).raw;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_CERTIFICATE_HANDSHAKE_TIMEOUT_MS;
  const gate = new ConnectionGate(options.connectionLimits);
  let boundPort = port;

  const server: Server = createServer(
    {
      cert: options.serverCert.certPem,
      key: options.serverCert.keyPem,
      // ask for a client certificate (rotation) but let first contact in without one;
      // `ca` makes socket.authorized mean "valid certificate of this CA"
      ca: options.authority.certPem,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      handshakeTimeout: handshakeTimeoutMs,
    },
    (request, response) => {
      clearFirstRequestDeadline(request.socket);
      let nodeName: string | undefined;
      handle(request, response, (name) => (nodeName = name)).catch((error: unknown) => {
        const refusal =
          refusalFor(error) ??
          new RequestRefusal(500, 'INTERNAL_ERROR', 'the certificate server failed on this request; retry, and see the cloudcore log if it persists', {
            cause: error,
          });
        refuse(response, refusal);
        emit({
          type: 'refused',
          reason: refusal.code,
          ...(nodeName === undefined ? {} : { nodeName }),
          remoteAddress: remoteAddressOf(request),
          status: refusal.status,
          // the internal error's own text is for the operator's log, not for the client
          message: refusal.code === 'INTERNAL_ERROR' && error instanceof Error ? error.message : refusal.message,
        });
      });
    },
  );
  // slow or silent clients are cut off instead of holding sockets open forever: headers of later
  // keep-alive requests within the handshake timeout too, a whole request within 30 s, checked every second
  server.headersTimeout = handshakeTimeoutMs;
  server.requestTimeout = Math.max(30_000, handshakeTimeoutMs);
  server.keepAliveTimeout = Math.min(5_000, handshakeTimeoutMs);

  // per-IP limits, before TLS wraps the socket, so a refused source costs no handshake
  server.prependListener('connection', (socket: Socket) => {
    const admitted = gate.admit(socket.remoteAddress ?? 'unknown');
    if (isGateRefusal(admitted)) {
      emit({
        type: 'refused',
        reason: admitted.reason === 'per-ip-connections' ? 'PER_IP_CONNECTIONS' : 'PER_IP_RATE',
        remoteAddress: socket.remoteAddress ?? 'unknown',
        status: 0,
        message: admitted.message,
      });
      socket.destroy();
      return;
    }
    socket.once('close', admitted.release);
  });

  // after TLS the first request's headers must come within the handshake timeout (Node checks its
  // own headersTimeout only every few seconds, and not at all before the first byte)
  const firstRequestDeadlines = new WeakMap<object, NodeJS.Timeout>();
  function clearFirstRequestDeadline(socket: object): void {
    clearTimeout(firstRequestDeadlines.get(socket));
    firstRequestDeadlines.delete(socket);
  }
  server.on('secureConnection', (socket: TLSSocket) => {
    const timer = setTimeout(() => {
      firstRequestDeadlines.delete(socket);
      if (socket.destroyed) return;
      emit({
        type: 'refused',
        reason: 'HANDSHAKE_TIMEOUT',
        remoteAddress: socket.remoteAddress ?? 'unknown',
        status: 0,
        message: `no complete request within ${handshakeTimeoutMs} ms after the TLS handshake; connection cut`,
      });
      socket.destroy();
    }, handshakeTimeoutMs);
    timer.unref();
    firstRequestDeadlines.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  });
  // requests too broken to reach the handler (bad HTTP, huge headers, timeouts) are refusals too
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy(); // the client went away; there is nobody to answer
      return;
    }
    if (error.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') {
      // reported by tlsClientError; no HTTP answer is possible before TLS, and ending (not destroying)
      // the socket would leave it open
      socket.destroy();
      return;
    }
    const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const status = timedOut ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    emit({
      type: 'refused',
      reason: timedOut ? 'REQUEST_TIMEOUT' : 'MALFORMED_REQUEST',
      remoteAddress: (socket as Socket).remoteAddress ?? 'unknown',
      status,
      message: `unusable HTTP request (${error.code ?? error.message})`,
    });
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  server.on('tlsClientError', (error: Error & { code?: string }, socket) => {
    const timedOut = error.code === 'ERR_TLS_HANDSHAKE_TIMEOUT';
    emit({
      type: 'refused',
      reason: timedOut ? 'HANDSHAKE_TIMEOUT' : 'TLS_HANDSHAKE_FAILED',
      remoteAddress: socket.remoteAddress ?? 'unknown',
      status: 0,
      message: error.message,
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse, claimNodeName: (nodeName: string) => void): Promise<void> {
    const path = requestPath(request);
    const served = serveGatewayFiles(path, request, response, options.gatewayBundles, {
      hosts: options.installScriptAddress?.hosts ?? [],
      httpsPort: boundPort,
      webSocketPort: options.installScriptAddress?.webSocketPort ?? (() => undefined),
    });
    if (served !== undefined) {
      emit({ type: 'served', path: served.path, bytes: served.bytes, remoteAddress: remoteAddressOf(request) });
      return;
    }
    const api = options.apis?.find((candidate) => candidate.serves(path));
    if (api !== undefined) {
      await api.handle(request, response, path);
      return;
    }
    if (path === '/ca.crt') {
      allowMethods(request, ['GET', 'HEAD']);
      const wantsDer = (request.headers.accept ?? '').includes('application/pkix-cert');
      const body = wantsDer ? caDer : options.authority.certPem;
      response.writeHead(200, {
        'Content-Type': wantsDer ? 'application/pkix-cert' : 'text/plain; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
      });
      response.end(body);
      return;
    }
    if (path === '/edge.crt') {
      allowMethods(request, ['POST', 'GET']); // GET with a body is how KubeEdge's edgecore asks
      const issued = await issueEdgeCertificate(request, context, claimNodeName);
      response.writeHead(200, {
        'Content-Type': 'application/x-pem-file',
        'Content-Length': Buffer.byteLength(issued.certPem),
      });
      response.end(issued.certPem);
      emit({
        type: 'issued',
        nodeName: issued.nodeName,
        serialNumber: issued.serialNumber,
        via: issued.via,
        remoteAddress: remoteAddressOf(request),
      });
      return;
    }
    throw new RequestRefusal(404, 'NOT_FOUND', `no such endpoint ${JSON.stringify(path.slice(0, 64))}; use GET /ca.crt, POST /edge.crt, GET /install.sh or GET /bundles/manifest.json`);
  }

  // every socket, including ones still in the TLS handshake, so that close() cannot be held open
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: unknown): void => reject(new CertificateServerListenError(host, port, error));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });

  boundPort = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    port: boundPort,
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        for (const socket of sockets) socket.destroy();
      })),
  };
}

function allowMethods(request: IncomingMessage, methods: readonly string[]): void {
  if (!methods.includes(request.method ?? '')) {
    throw new RequestRefusal(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here; use ${methods.join(' or ')}`, {
      headers: { Allow: methods.join(', ') },
    });
  }
}

function refuse(response: ServerResponse, refusal: RequestRefusal): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = JSON.stringify({ error: refusal.code, message: refusal.message });
  response.writeHead(refusal.status, {
    ...refusal.headers,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    // a request body we did not read (too large, or refused before reading) must not be parsed as the next request
    ...(refusal.status === 413 || !response.req.complete ? { Connection: 'close' } : {}),
  });
  response.end(body);
}

function requestPath(request: IncomingMessage): string {
  try {
    return new URL(request.url ?? '/', 'https://kedge.invalid').pathname;
  } catch (cause) {
    throw new RequestRefusal(400, 'MALFORMED_REQUEST', 'the request target is not a valid path; use GET /ca.crt or POST /edge.crt', { cause });
  }
}

function remoteAddressOf(request: IncomingMessage): string {
  return request.socket.remoteAddress ?? 'unknown';
}

// The edge end of the WebSocket transport: wss with this node's certificate, KubeEdge's URL and headers.
import type { IncomingMessage, ClientRequest } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { WebSocket } from 'ws';
import type { Connection, PeerIdentity } from '../connection';
import { DialError, TransportConfigError } from '../errors';
import { commonNameOf } from '../identity';
import { formatAddress, resolveLimits, resolveLiveness } from '../options';
import type { DialHubOptions } from '../options';
import {
  BATCH_FRAMES_HEADER,
  BATCH_FRAMES_VERSION,
  WebSocketConnection,
  announcesBatchFrames,
  readsBatchFrames,
  usesBatchFrames,
  webSocketFrameOptions,
} from './websocket-connection';

/** KubeEdge's default project id, used in the path when none is configured */
export const DEFAULT_PROJECT_ID = 'e632aba927ea4ac2b575ec1603d56f10';
/** how much of a refusal body is quoted in the DialError */
const MAX_REFUSAL_BODY_BYTES = 512;

/** `wss://host:port` gets KubeEdge's `/<projectId>/<nodeName>/events`; a URL with a path is kept. */
export function webSocketHubUrl(options: Pick<DialHubOptions, 'url' | 'nodeName' | 'projectId'>): URL {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch (error) {
    throw new TransportConfigError('url', `${JSON.stringify(options.url)} is not a URL (${String(error)})`);
  }
  if (url.protocol !== 'wss:') {
    throw new TransportConfigError('url', `${JSON.stringify(options.url)} must start with wss:// (the hub requires TLS)`);
  }
  if (url.pathname === '/' || url.pathname === '') {
    url.pathname = `/${encodeURIComponent(options.projectId ?? DEFAULT_PROJECT_ID)}/${encodeURIComponent(options.nodeName)}/events`;
  }
  return url;
}

function readRefusal(response: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => resolve(Buffer.concat(chunks).toString('utf8').trim().slice(0, MAX_REFUSAL_BODY_BYTES));
    response.on('data', (chunk: Buffer) => {
      if (size < MAX_REFUSAL_BODY_BYTES) chunks.push(chunk);
      size += chunk.length;
    });
    response.on('end', done);
    response.on('error', done);
    response.on('close', done);
  });
}

/** Connects to a hub over WebSocket; rejects with DialError when the hub refuses or cannot be reached. */
export function dialWebSocketHub(options: DialHubOptions): Promise<Connection> {
  const url = webSocketHubUrl(options);
  const limits = resolveLimits(options.limits);
  const liveness = resolveLiveness(options);
  const shownUrl = url.toString();
  const headers: Record<string, string> = { node_id: options.nodeName };
  // the edge speaks batch frames; the link uses them when the hub says so too in its answer (docs/protocol.md)
  const readsBatches = readsBatchFrames(limits.maxFrameBytes);
  if (readsBatches) headers[BATCH_FRAMES_HEADER] = BATCH_FRAMES_VERSION;
  if (options.projectId !== undefined) headers['project_id'] = options.projectId;

  return new Promise<Connection>((resolve, reject) => {
    const socket = new WebSocket(url, {
      ...webSocketFrameOptions(limits.maxFrameBytes),
      handshakeTimeout: options.handshakeTimeoutMs,
      headers,
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      // an empty certificate means "present none" (only useful to test that the hub refuses it)
      ...(options.tls.cert !== '' ? { cert: options.tls.cert, key: options.tls.key } : {}),
      ca: options.tls.ca,
      minVersion: 'TLSv1.2',
    });
    let peer: PeerIdentity | undefined;
    let hubAnnouncedBatches = false;
    let remoteAddress = formatAddress(url.hostname, Number(url.port || 443));
    let settled = false;
    const fail = (error: DialError): void => {
      if (settled) return;
      settled = true;
      socket.terminate();
      reject(error);
    };
    socket.on('error', (error: Error) => fail(new DialError(shownUrl, 'WebSocket handshake failed', { cause: error })));
    socket.once('upgrade', (response: IncomingMessage) => {
      hubAnnouncedBatches = announcesBatchFrames(response.headers[BATCH_FRAMES_HEADER]);
      const tlsSocket = response.socket as TLSSocket;
      remoteAddress = formatAddress(tlsSocket.remoteAddress, tlsSocket.remotePort);
      const certificate = tlsSocket.getPeerX509Certificate();
      if (certificate !== undefined) {
        try {
          peer = { commonName: commonNameOf(certificate) };
        } catch {
          peer = { commonName: certificate.subject.replace(/\n/g, ', ') };
        }
      }
    });
    socket.once('unexpected-response', (request: ClientRequest, response: IncomingMessage) => {
      void readRefusal(response).then((body) => {
        request.destroy();
        const status = `${response.statusCode ?? '?'} ${response.statusMessage ?? ''}`.trim();
        fail(new DialError(shownUrl, `hub refused the connection with HTTP ${status}${body ? `: ${body}` : ''}`));
      });
    });
    socket.once('open', () => {
      if (settled) return;
      settled = true;
      resolve(
        new WebSocketConnection(socket, { peer: peer ?? { commonName: '' }, remoteAddress, limits }, liveness, usesBatchFrames(readsBatches, hubAnnouncedBatches)),
      );
    });
  });
}

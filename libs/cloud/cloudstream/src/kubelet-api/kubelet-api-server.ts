// The kubelet's HTTPS API for every edge node whose hub session this cloudcore holds, so that
// kube-apiserver (logs, exec, attach, port-forward, nodes/proxy) and metrics-server reach edge nodes by
// dialling the Node's address and kubelet port as they dial any kubelet. Each node has its own port
// (NodePorts); one https.Server serves them all. Callers authenticate and are authorized as by a kubelet
// (KubeletAuth); streams go to the PodStreamHandler (CloudStream), reads to NodeReadEndpoints.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '@kedge/telemetry';
import { ConnectionGate, isGateRefusal, type ConnectionLimits } from '@kedge/transport';
import type { PodStreamHandler, PodStreamTarget } from '../pod-stream-handler';
import { rejectUpgrade, writeStatus } from '../status';
import { KubeletAuth, type KubeletAuthBackend, type KubeletCaller } from './kubelet-auth';
import { KubeletApiMetrics } from './kubelet-api-metrics';
import { KubeletRequestError } from './kubelet-errors';
import { authorizationSubresource, authorizationVerb, parseKubeletPath, type KubeletRoute, type KubeletRouteKind } from './kubelet-paths';
import { logQuery, processQuery } from './kubelet-query';
import type { NodeReadEndpoints } from './node-read-endpoints';
import { NodePorts } from './node-ports';

/** What the kubelet API needs of a pod: where it runs, its uid, its containers. */
export interface KubeletPod {
  metadata?: { uid?: string; annotations?: Record<string, string> };
  spec?: { nodeName?: string; containers?: Array<{ name?: string }> };
}

export interface NodeEndpoint {
  address: string;
  port: number;
}

export interface KubeletApiServerOptions {
  /** logs, exec, attach and port-forward (CloudStream) */
  streams: PodStreamHandler;
  /** whether the node's hub session is live */
  hasSession(nodeName: string): boolean;
  /** the pod as the cluster has it, undefined when there is none */
  findPod(namespace: string, name: string): Promise<KubeletPod | undefined>;
  /** TokenReview and SubjectAccessReview (clusterAuthBackend), or a KubeletAuth with its caches set */
  auth: KubeletAuthBackend | KubeletAuth;
  /** client certificates must be signed by this CA */
  clientCaPem: string;
  /** the serving certificate; its IP SAN must be the advertise address */
  servingCertificate: { certPem: string; keyPem: string };
  /** the address kube-apiserver dials (the Node's InternalIP) */
  advertiseAddress: string;
  /** /pods, /stats/summary and /metrics/resource; without them those answer 501 */
  readEndpoints?: NodeReadEndpoints;
  /** default 0.0.0.0 */
  bindAddress?: string;
  /** default 10350 */
  portRangeStart?: number;
  /** default 10000 */
  portRangeSize?: number;
  /** per source IP, as on the hub's listeners (default 128 open, 20 new per second, bursts of 100) */
  connectionLimits?: Partial<ConnectionLimits>;
  /** TLS must be done, and then the request headers sent, within this (default 10 s) */
  handshakeTimeoutMs?: number;
  logger: Logger;
  metrics?: KubeletApiMetrics;
}

export const DEFAULT_KUBELET_API_PORT_RANGE_START = 10350;

function splitUrl(url: string | undefined): { path: string; query: URLSearchParams } {
  const text = url ?? '/';
  const index = text.indexOf('?');
  return { path: index === -1 ? text : text.slice(0, index), query: new URLSearchParams(index === -1 ? '' : text.slice(index + 1)) };
}

function noSession(node: string): KubeletRequestError {
  return new KubeletRequestError(503, 'no-session', `edge node "${node}" has no live session with cloudcore`);
}

const STREAM_SUBRESOURCE = { exec: 'exec', attach: 'attach', portForward: 'portforward' } as const;

export class KubeletApiServer {
  readonly metrics: KubeletApiMetrics;
  private readonly server: Server;
  private readonly ports: NodePorts;
  private readonly auth: KubeletAuth;
  private readReady: NodeReadEndpoints | undefined;
  private readonly gate: ConnectionGate;

  constructor(private readonly options: KubeletApiServerOptions) {
    this.metrics = options.metrics ?? new KubeletApiMetrics();
    this.auth = options.auth instanceof KubeletAuth ? options.auth : new KubeletAuth({ backend: options.auth });
    this.readReady = options.readEndpoints;
    this.gate = new ConnectionGate(options.connectionLimits);
    const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    this.server = createServer(
      {
        handshakeTimeout: handshakeTimeoutMs,
        cert: options.servingCertificate.certPem,
        key: options.servingCertificate.keyPem,
        ca: options.clientCaPem,
        requestCert: true,
        // tokens need no certificate; a certificate that is presented must verify (KubeletAuth)
        rejectUnauthorized: false,
      },
      (request, response) => void this.serve(request, response),
    );
    this.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => void this.upgrade(request, socket, head));
    this.server.on('clientError', (_error, socket: Duplex) => socket.destroy());
    this.server.on('tlsClientError', () => this.metrics.refused.inc({ reason: 'bad-certificate' }));
    // logs -f and exec sessions last as long as the person wants
    this.server.requestTimeout = 0;
    this.server.headersTimeout = handshakeTimeoutMs;
    this.ports = new NodePorts({
      bindAddress: options.bindAddress ?? '0.0.0.0',
      rangeStart: options.portRangeStart ?? DEFAULT_KUBELET_API_PORT_RANGE_START,
      rangeSize: options.portRangeSize ?? 10_000,
      onConnection: (socket) => {
        // a host flooding the port, or holding sockets open, is cut before any TLS work is spent on it
        const admitted = this.gate.admit(socket.remoteAddress ?? '');
        if (isGateRefusal(admitted)) {
          this.metrics.refused.inc({ reason: admitted.reason });
          socket.destroy();
          return;
        }
        socket.once('close', admitted.release);
        this.server.emit('connection', socket);
      },
    });
  }

  /** Opens the node's port (the preferred one when free); resolves with the port. */
  async allocate(nodeName: string, preferredPort?: number): Promise<number> {
    const known = this.ports.portOf(nodeName);
    const port = await this.ports.allocate(nodeName, preferredPort);
    if (known === undefined) {
      this.metrics.nodePorts.set(this.ports.size);
      this.options.logger.info({ nodeName, port, address: this.options.advertiseAddress }, 'kubelet API port allocated to edge node');
    }
    return port;
  }

  /** Where kube-apiserver reaches the node's kubelet API; undefined before allocate(). */
  endpointOf(nodeName: string): NodeEndpoint | undefined {
    const port = this.ports.portOf(nodeName);
    return port === undefined ? undefined : { address: this.options.advertiseAddress, port };
  }

  /** The node was deleted: its port closes and may be given to another node. */
  async release(nodeName: string): Promise<void> {
    if (this.ports.portOf(nodeName) === undefined) return;
    await this.ports.release(nodeName);
    this.metrics.nodePorts.set(this.ports.size);
    this.options.logger.info({ nodeName }, 'kubelet API port released (node deleted)');
  }

  /** Installs the /pods, /stats/summary and /metrics/resource implementation. */
  setReadEndpoints(endpoints: NodeReadEndpoints | undefined): void {
    this.readReady = endpoints;
  }

  async close(): Promise<void> {
    await this.ports.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private nodeOf(request: IncomingMessage): string {
    const node = this.ports.nodeOfPort(request.socket.localPort);
    if (node === undefined) throw new KubeletRequestError(404, 'unknown-port', 'this port serves no edge node any more');
    return node;
  }

  /** Authenticates, authorizes and parses; the route and the node. */
  private async admit(request: IncomingMessage, path: string): Promise<{ node: string; caller: KubeletCaller; route: KubeletRoute }> {
    const node = this.nodeOf(request);
    const caller = await this.auth.authenticate(request);
    await this.auth.authorize(caller, { verb: authorizationVerb(request.method ?? 'GET'), subresource: authorizationSubresource(path), node });
    return { node, caller, route: parseKubeletPath(path) };
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let kind: KubeletRouteKind | 'unknown' = 'unknown';
    response.on('close', () => this.metrics.requests.inc({ kind, code: String(response.statusCode) }));
    try {
      const { path, query } = splitUrl(request.url);
      const { node, caller, route } = await this.admit(request, path);
      kind = route.kind;
      if (route.kind === 'healthz' || route.kind === 'pods' || route.kind === 'statsSummary' || route.kind === 'metricsResource') this.requireSession(node);
      switch (route.kind) {
        case 'healthz':
          response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok');
          return;
        case 'pods':
        case 'statsSummary':
        case 'metricsResource':
          await this.serveRead(route.kind, node, response);
          return;
        case 'containerLogs': {
          if (request.method !== 'GET') throw new KubeletRequestError(405, 'bad-request', `containerLogs takes GET, not ${request.method ?? ''}`);
          const target = await this.target(route, node, caller, logQuery(query, route.container));
          this.requireSession(node);
          await this.options.streams.streamLog(target, request, response);
          return;
        }
        default:
          throw new KubeletRequestError(400, 'bad-request', `Upgrade request required: ${route.kind} needs a WebSocket or SPDY upgrade`);
      }
    } catch (error) {
      this.fail(error, request, (code, message) => {
        if (response.headersSent) response.destroy();
        else writeStatus(response, code, message);
      });
    }
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    let kind: KubeletRouteKind | 'unknown' = 'unknown';
    try {
      const { path, query } = splitUrl(request.url);
      const { node, caller, route } = await this.admit(request, path);
      kind = route.kind;
      if (route.kind !== 'exec' && route.kind !== 'attach' && route.kind !== 'portForward') {
        throw new KubeletRequestError(400, 'bad-request', `${route.kind} cannot be upgraded`);
      }
      const streamQuery = route.kind === 'portForward' ? new URLSearchParams() : processQuery(query, route.container, route.kind);
      const target = await this.target(route, node, caller, streamQuery);
      this.requireSession(node);
      this.metrics.requests.inc({ kind, code: '101' });
      this.options.streams.upgrade(STREAM_SUBRESOURCE[route.kind], target, request, socket, head);
    } catch (error) {
      this.fail(error, request, (code, message) => {
        this.metrics.requests.inc({ kind, code: String(code) });
        rejectUpgrade(socket, code, message);
      });
    }
  }

  private requireSession(node: string): void {
    if (!this.options.hasSession(node)) throw noSession(node);
  }

  private async serveRead(kind: 'pods' | 'statsSummary' | 'metricsResource', node: string, response: ServerResponse): Promise<void> {
    const endpoints = this.readReady;
    if (endpoints === undefined) {
      throw new KubeletRequestError(501, 'not-implemented', `${kind === 'pods' ? '/pods' : kind === 'statsSummary' ? '/stats/summary' : '/metrics/resource'} of edge nodes is not served by this cloudcore (no node read endpoints configured)`);
    }
    if (kind === 'metricsResource') {
      const text = await endpoints.resourceMetrics(node);
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text);
      return;
    }
    const body = JSON.stringify(kind === 'pods' ? await endpoints.pods(node) : await endpoints.summary(node));
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  }

  /** The pod of a stream request, which must run on the node whose port was dialled. */
  private async target(
    route: { namespace: string; pod: string; uid?: string },
    node: string,
    caller: KubeletCaller,
    query: URLSearchParams,
  ): Promise<PodStreamTarget> {
    const pod = await this.options.findPod(route.namespace, route.pod);
    if (pod === undefined) throw new KubeletRequestError(404, 'not-found', `pod "${route.namespace}/${route.pod}" not found`);
    const podNode = pod.spec?.nodeName ?? '';
    if (podNode !== node) {
      throw new KubeletRequestError(404, 'wrong-node', `pod "${route.namespace}/${route.pod}" does not run on node "${node}" (this port is node "${node}"'s kubelet API)`);
    }
    if (route.uid !== undefined && route.uid !== pod.metadata?.uid) {
      throw new KubeletRequestError(404, 'not-found', `pod "${route.namespace}/${route.pod}" with uid ${route.uid} not found (it has ${pod.metadata?.uid ?? 'none'})`);
    }
    return { namespace: route.namespace, podName: route.pod, pod, nodeName: node, query, user: { name: caller.name, groups: caller.groups } };
  }

  private fail(error: unknown, request: IncomingMessage, answer: (code: number, message: string) => void): void {
    if (error instanceof KubeletRequestError) {
      this.metrics.refused.inc({ reason: error.reason });
      if (error.code === 401 || error.code === 403) {
        // the path only: an exec's query holds the command, which may carry secrets
        this.options.logger.warn({ code: error.code, reason: error.reason, path: splitUrl(request.url).path, remoteAddress: request.socket.remoteAddress }, error.message);
      }
      answer(error.code, error.message);
      return;
    }
    this.options.logger.error({ err: error, path: splitUrl(request.url).path }, 'kubelet API request failed');
    answer(500, `kubelet API request failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

// MetaServer: a Kubernetes-style HTTP API over the edge store, for edge apps that expect in-cluster
// access (client-go informers, kubectl with in-cluster config) and for `kubectl --server`. Reads are
// answered from local state only, so they keep working while the cloud is unreachable. With pod access
// on, pods authenticate with their ServiceAccount tokens (checked with the cloud, remembered offline),
// reads are authorized by the cloud's RBAC, and writes are forwarded to the cloud API server with the
// pod's own token (pod-writes.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { badRequest, internalError, isStatusError, queryBoolean, StatusError, unauthorized, type Status } from '@kedge/kube-core';
import { LogThrottle, type Logger } from '@kedge/telemetry';
import { Counter, type Registry } from 'prom-client';
import { InvalidSelectorError, MetaManagerError } from '../errors';
import type { MetaStore } from '../store/meta-store';
import type { ReviewedUser } from '@kedge/protocol';
import type { PodAccess } from '../pod-api/pod-access';
import { AccessRefused, MetaServerAccess, type RefusalReason } from './access';
import { forwardPodWrite, readAttributes } from './pod-requests';
import { isHealthPath, routeOf, type ApiRoute } from './api-request';
import { apiGroupList, apiVersions, coreResourceList, rootPaths, versionInfo } from './discovery';
import { getBody, listBody, namespaceBody, selectorOf, wantsTable } from './reads';
import { serveWatch } from './watch-stream';

export interface MetaServerOptions {
  store: MetaStore;
  /** default 127.0.0.1: MetaServer is for the gateway itself */
  host?: string;
  /**
   * The local credential (see ensureLocalCredential): every request but /healthz, /livez and /readyz
   * must send it as `Authorization: Bearer <token>`; anything else is a 401 Status.
   */
  localToken: string;
  /** host names a request may put in its Host header besides localhost, 127.0.0.1, ::1 and the listen address */
  allowedHosts?: readonly string[];
  /**
   * The serving certificate and key (see ensureLocalCredential). edgecore always serves TLS: kubectl
   * never sends a token over plain HTTP. Without it MetaServer speaks HTTP, for tests and embedding only.
   */
  tls?: { cert: string; key: string };
  /** where `kedge_metaserver_refused_total{reason}` is registered (default: not exported) */
  registry?: Registry;
  /** default 10550, KubeEdge's MetaServer port; 0 picks a free port */
  port?: number;
  logger: Logger;
  /** how long a watch lasts when the client gives no timeoutSeconds (default 1800) */
  watchTimeoutSeconds?: number;
  /** how often a watch with allowWatchBookmarks gets a BOOKMARK (default 60 s) */
  bookmarkIntervalMs?: number;
  /**
   * Pods' ServiceAccount tokens: checked with the cloud and remembered (see PodAccess). Without it only
   * the local credential is accepted.
   */
  podAccess?: PodAccess;
  /** a second listener on an address the pod network reaches (the node's IP); same handler, same checks */
  podListener?: { host: string; port: number };
}

export interface MetaServer {
  readonly port: number;
  /** the pod-facing listener's address and port, when podListener was given */
  readonly podEndpoint: { host: string; port: number } | undefined;
  /** e.g. http://127.0.0.1:10550 */
  readonly url: string;
  /** Ends every watch and stops listening. */
  close(): Promise<void>;
}

const WRITE_REFUSAL =
  'MetaServer is read-only: it serves the objects the cloud pushed to this node; create, update, patch and delete them through the cloud API server';

function sendJson(response: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function sendStatus(response: ServerResponse, status: Status, headers: Record<string, string> = {}): void {
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
  sendJson(response, status.code, status);
}

export async function startMetaServer(options: MetaServerOptions): Promise<MetaServer> {
  const { store, logger } = options;
  const host = options.host ?? '127.0.0.1';
  const watchStops = new Set<() => Promise<void>>();
  const watchTimeoutSeconds = options.watchTimeoutSeconds ?? 1800;
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? 60_000;
  let serverAddress = '';
  const podAccess = options.podAccess;
  const access = new MetaServerAccess({ localToken: options.localToken, allowedHosts: [...(options.allowedHosts ?? []), ...(options.podListener ? [options.podListener.host] : [])] }, host);
  const refusals = new Counter({
    name: 'kedge_metaserver_refused_total',
    help: 'MetaServer requests refused before reading anything: foreign_host (Host header not an address of this server), no_credential, bad_credential, cloud_unreachable (a pod token or decision the cloud must confirm while offline), forbidden (RBAC said no to a pod)',
    labelNames: ['reason'],
    registers: options.registry ? [options.registry] : [],
  });
  const refusalLogs = new LogThrottle();
  const forwarded = new Counter({
    name: 'kedge_metaserver_forwarded_writes_total',
    help: "Pod writes MetaServer forwarded to the cloud API server with the pod's token, by result: the API server's status class (2xx, 4xx, 5xx), cloud_unreachable (offline: 503), refused (the cloud refused to forward)",
    labelNames: ['result'],
    registers: options.registry ? [options.registry] : [],
  });

  const serveRoute = (request: IncomingMessage, response: ServerResponse, route: ApiRoute, query: URLSearchParams): void => {
    const table = wantsTable(request.headers.accept);
    switch (route.kind) {
      case 'root':
        return sendJson(response, 200, rootPaths());
      case 'version':
        return sendJson(response, 200, versionInfo());
      case 'health':
        response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        return;
      case 'api':
        return sendJson(response, 200, apiVersions(serverAddress));
      case 'api-v1':
        return sendJson(response, 200, coreResourceList());
      case 'apis':
        return sendJson(response, 200, apiGroupList());
      case 'namespace':
        return sendJson(response, 200, namespaceBody(store, route.name));
      case 'collection':
      case 'object': {
        // HEAD has no body to stream into, so it is answered like the list or get
        // watch=True (the Python client) is a watch, as on kube-apiserver: only 0 and false are false
        if (queryBoolean(query, 'watch') === true && request.method !== 'HEAD') {
          const selector = selectorOf(query);
          if (route.kind === 'object') {
            // the old /namespaces/x/pods/name?watch form: a watch of one object
            const byName = `metadata.name=${route.name}`;
            selector.fieldSelector = selector.fieldSelector ? `${selector.fieldSelector},${byName}` : byName;
          }
          const { resource, namespace } = route;
          serveWatch(request, response, { store, resource, namespace, selector, query, table, logger, defaultTimeoutSeconds: watchTimeoutSeconds, bookmarkIntervalMs }, watchStops);
          return;
        }
        const format = { table, query };
        if (route.kind === 'object') return sendJson(response, 200, getBody(store, route.resource, route.namespace, route.name, format));
        return sendJson(response, 200, listBody(store, route.resource, route.namespace, format));
      }
    }
  };

  const refuse = (request: IncomingMessage, response: ServerResponse, path: string, reason: RefusalReason, status: StatusError): void => {
    refusals.inc({ reason });
    // never the Authorization header: a near-miss token is still a secret
    refusalLogs.run(`refused:${reason}`, (suppressed) =>
      logger.warn({ reason, remote: request.socket.remoteAddress, host: String(request.headers.host ?? '').slice(0, 100), path: path.slice(0, 200), error: status.message.slice(0, 300), suppressed }, 'MetaServer refused a request'),
    );
    const headers: Record<string, string> = status.code === 401 ? { 'www-authenticate': 'Bearer realm="kedge-metaserver"' } : {};
    sendStatus(response, status.toStatus(), headers);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const method = request.method ?? 'GET';
    const reading = method === 'GET' || method === 'HEAD';
    // bodies of reads are never read: discard them so the connection can be reused
    if (reading) request.resume();
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://metaserver.invalid');
    } catch {
      request.resume();
      sendStatus(response, badRequest('the request target is not a valid URL path').toStatus());
      return;
    }
    // health checks stay open (they tell nothing about the objects); everything else needs a credential
    if (isHealthPath(url.pathname) && reading) return serveRoute(request, response, routeOf(url.pathname), url.searchParams);
    let pod: { token: string; user: ReviewedUser } | undefined;
    try {
      const credential = access.check(request, podAccess !== undefined);
      if (credential.kind === 'bearer' && podAccess !== undefined) {
        const result = await podAccess.authenticate(credential.token);
        if (!result.ok) throw new AccessRefused(result.reason === 'cloud_unreachable' ? 'cloud_unreachable' : 'bad_credential', unauthorized(result.message));
        pod = { token: credential.token, user: result.user };
      }
    } catch (error) {
      if (!(error instanceof AccessRefused)) throw error;
      request.resume();
      refuse(request, response, url.pathname, error.reason, error.status);
      return;
    }
    if (!reading) {
      // the local credential is no cloud identity: its writes are refused here, never sent to the cloud
      if (pod === undefined || podAccess === undefined) {
        request.resume();
        sendStatus(response, new StatusError(405, 'MethodNotAllowed', `${WRITE_REFUSAL} (${method.slice(0, 20)} ${String(request.url).slice(0, 200)})`).toStatus(), { allow: 'GET, HEAD' });
        return;
      }
      await forwardPodWrite(request, response, { cloud: podAccess.cloud, token: pod.token, url, logger, forwarded });
      return;
    }
    const route = routeOf(url.pathname);
    if (pod !== undefined && podAccess !== undefined) {
      const attributes = readAttributes(route, url.searchParams);
      if (attributes !== undefined) {
        const decision = await podAccess.authorize(pod.user, pod.token, attributes);
        if (!decision.allowed) {
          const status =
            decision.reason === 'cloud_unreachable'
              ? new StatusError(503, 'ServiceUnavailable', decision.message)
              : new StatusError(403, 'Forbidden', decision.message, { kind: attributes.resource, ...(attributes.name === undefined ? {} : { name: attributes.name }) });
          refuse(request, response, url.pathname, decision.reason, status);
          return;
        }
      }
    }
    serveRoute(request, response, route, url.searchParams);
  };

  const onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        logger.error({ error, url: request.url }, 'MetaServer failed after answering; closing the response');
        response.destroy();
        return;
      }
      if (isStatusError(error)) return sendStatus(response, error.toStatus());
      if (error instanceof InvalidSelectorError) return sendStatus(response, badRequest(error.message).toStatus());
      if (error instanceof MetaManagerError && error.code === 'STORE_CLOSED') return sendStatus(response, internalError('the edge store is closed (edgecore is stopping)').toStatus());
      logger.error({ error, url: String(request.url).slice(0, 200) }, 'MetaServer request failed');
      sendStatus(response, internalError('MetaServer failed; see the edgecore log').toStatus());
    });
  };
  const newServer = (): Server => {
    const server: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, onRequest) : createServer(onRequest);
    server.on('tlsClientError', (error: Error) => logger.debug({ error: error.message }, 'MetaServer refused a TLS handshake'));
    // a malformed request line or header must cost one connection, never the process
    server.on('clientError', (error, socket) => {
      logger.debug({ error: error.message }, 'MetaServer dropped a malformed request');
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      else socket.destroy();
    });
    return server;
  };
  const listen = (server: Server, listenPort: number, listenHost: string): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenPort, listenHost, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const server = newServer();
  const port = await listen(server, options.port ?? 10550, host);
  let podServer: Server | undefined;
  let podEndpoint: { host: string; port: number } | undefined;
  if (options.podListener !== undefined) {
    podServer = newServer();
    try {
      podEndpoint = { host: options.podListener.host, port: await listen(podServer, options.podListener.port, options.podListener.host) };
    } catch (error) {
      server.close();
      throw error;
    }
    logger.info({ ...podEndpoint }, 'MetaServer listening for pods (ServiceAccount tokens checked with the cloud)');
  }
  const servers = [server, ...(podServer ? [podServer] : [])];
  serverAddress = `${host}:${port}`;
  logger.info({ host, port, tls: options.tls !== undefined, hosts: access.hosts }, 'MetaServer listening (read-only, local store; bearer credential required)');
  if (options.tls === undefined) logger.warn('MetaServer speaks plain HTTP (no tls option): its credential crosses the connection in clear; edgecore always serves TLS');
  return {
    port,
    podEndpoint,
    url: `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        let open = servers.length;
        for (const each of servers) each.close(() => --open === 0 && resolve());
        // end watches cleanly (the final chunk flushed) before cutting what is left
        const ending = Promise.all([...watchStops].map((stop) => stop()));
        // a client that stopped reading never takes its last chunk: do not wait for it long
        const patience = new Promise<void>((done) => setTimeout(done, 1_000).unref());
        void Promise.race([ending, patience]).then(() => servers.forEach((each) => each.closeAllConnections()));
      }),
  };
}

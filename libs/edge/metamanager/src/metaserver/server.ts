// MetaServer: a read-only, Kubernetes-style HTTP API over the edge store, for edge apps that expect
// in-cluster access (flannel, CoreDNS-like agents, informers) and for `kubectl --server`. It answers
// from local state only, so it keeps working while the cloud is unreachable.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { badRequest, internalError, isStatusError, StatusError, type Status } from '@kedge/kube-core';
import type { Logger } from '@kedge/telemetry';
import { InvalidSelectorError, MetaManagerError } from '../errors';
import type { MetaStore } from '../store/meta-store';
import { routeOf, type ApiRoute } from './api-request';
import { apiGroupList, apiVersions, coreResourceList, rootPaths, versionInfo } from './discovery';
import { getBody, listBody, namespaceBody, selectorOf, wantsTable } from './reads';
import { isTrue, serveWatch } from './watch-stream';

export interface MetaServerOptions {
  store: MetaStore;
  /** default 127.0.0.1: the API has no authentication, so it must not listen beyond the gateway */
  host?: string;
  /** default 10550, KubeEdge's MetaServer port; 0 picks a free port */
  port?: number;
  logger: Logger;
  /** how long a watch lasts when the client gives no timeoutSeconds (default 1800) */
  watchTimeoutSeconds?: number;
  /** how often a watch with allowWatchBookmarks gets a BOOKMARK (default 60 s) */
  bookmarkIntervalMs?: number;
}

export interface MetaServer {
  readonly port: number;
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
        if (isTrue(query.get('watch')) && request.method !== 'HEAD') {
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

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    // bodies are never read: discard them so the connection can be reused
    request.resume();
    const method = request.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      sendStatus(response, new StatusError(405, 'MethodNotAllowed', `${WRITE_REFUSAL} (${method.slice(0, 20)} ${String(request.url).slice(0, 200)})`).toStatus(), { allow: 'GET, HEAD' });
      return;
    }
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://metaserver.invalid');
    } catch {
      sendStatus(response, badRequest('the request target is not a valid URL path').toStatus());
      return;
    }
    serveRoute(request, response, routeOf(url.pathname), url.searchParams);
  };

  const server: Server = createServer((request, response) => {
    try {
      handle(request, response);
    } catch (error) {
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
    }
  });
  // a malformed request line or header must cost one connection, never the process
  server.on('clientError', (error, socket) => {
    logger.debug({ error: error.message }, 'MetaServer dropped a malformed request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 10550, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  serverAddress = `${host}:${port}`;
  logger.info({ host, port }, 'MetaServer listening (read-only, local store)');
  if (!['127.0.0.1', '::1', 'localhost'].includes(host)) {
    logger.warn({ host }, 'MetaServer has no authentication and serves secrets: listening beyond loopback exposes them to the network');
  }
  return {
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // end watches cleanly (the final chunk flushed) before cutting what is left
        const ending = Promise.all([...watchStops].map((stop) => stop()));
        // a client that stopped reading never takes its last chunk: do not wait for it long
        const patience = new Promise<void>((done) => setTimeout(done, 1_000).unref());
        void Promise.race([ending, patience]).then(() => server.closeAllConnections());
      }),
  };
}

// startApiServer: the embedded Kubernetes-compatible API server on one SQLite file, K3s/kine style.
// It opens the storage, brings up the catalog and controllers, listens on HTTPS (or plain HTTP on
// loopback when asked), and writes an admin kubeconfig.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { CA_KEY_FILE, SERVER_KEY_FILE } from '@kedge/pki';
import { securePrivatePaths } from '@kedge/sqlite';
import { createLogger, type Logger } from '@kedge/telemetry';
import { badRequest, serviceUnavailable, type KubeObject } from '@kedge/kube-core';
import {
  Authenticator,
  Authorizer,
  DEFAULT_SERVICE_ACCOUNT_ISSUER,
  MASTERS_GROUP,
  ServiceAccountTokens,
  ensureBootstrapPolicy,
  type ServiceAccountTokenCheck,
  type StaticToken,
} from '../auth';
import { CrdController, GarbageCollector, NamespaceController, type Controller } from '../controllers';
import type { HandlerServices } from '../handlers';
import { MAX_REQUEST_BODY_BYTES } from '../http';
import { writeKubeconfig } from '../kubeconfig';
import { createApiMetrics } from '../metrics';
import { OpenApiDocuments } from '../openapi';
import { KubeletClient, type KubeletClientOptions } from '../kubelet-client';
import { ResourceCatalog, type ResourceType } from '../resources';
import { MetricsScraper, metricsResources, type MetricsObjectSource, type NodeResourceMetricsSource } from '../metrics-api';
import { openSqliteStorage, type ObjectStorage } from '../storage';
import { ResourceStore } from '../registry';
import {
  ADMIN_TOKEN_FILE,
  PKI_DIRECTORY,
  SERVICE_ACCOUNT_KEY_FILE,
  loadOrCreateAdminToken,
  loadOrCreateServiceAccountKey,
  resolveTlsMaterial,
  type ApiServerTlsOptions,
} from './credentials';
import { SERVER_VERSION } from './non-resource-endpoints';
import { RequestDispatcher } from './request-dispatcher';

export interface ApiServerOptions {
  /** holds apiserver.db, admin-token, admin.kubeconfig and (with tls 'auto') pki/ */
  dataDir: string;
  /** default 127.0.0.1 */
  host?: string;
  /** default 6443; 0 picks a free port */
  port?: number;
  /** 'auto' (default): CA and serving certificate kept in <dataDir>/pki; false: plain HTTP, loopback only */
  tls?: ApiServerTlsOptions;
  /** extra DNS names or IPs for the serving certificate */
  serverNames?: string[];
  logger?: Logger;
  /** storage history kept by compaction, in revisions (default 10000) */
  keepRevisions?: number;
  /** how often storage compaction runs, in ms (storage default: 5 minutes) */
  compactIntervalMs?: number;
  /** interval of BOOKMARK events on watches that allow them (default 60000) */
  bookmarkIntervalMs?: number;
  /** watches end after about this long unless the client asks for less (default 1800) */
  watchTimeoutSeconds?: number;
  /** the admin bearer token; by default generated on first start and kept in <dataDir>/admin-token */
  adminToken?: string;
  /** more bearer tokens, e.g. for node identities in tests */
  tokens?: StaticToken[];
  /** `iss` of service account tokens (default https://kubernetes.default.svc) */
  serviceAccountIssuer?: string;
  /** audiences accepted in service account tokens, and given to new ones by default (default: [the issuer]) */
  apiAudiences?: string[];
  /** prom-client registry to count requests on */
  metricsRegistry?: Registry;
  /** request body limit in bytes (default 3 MiB, as kube-apiserver) */
  maxRequestBodyBytes?: number;
  /** clock for timestamps and ages */
  now?: () => Date;
  /**
   * serve metrics.k8s.io/v1beta1 (kubectl top) from this source of each node's /metrics/resource text,
   * scraped as metrics-server does; absent: the group is not served
   */
  nodeResourceMetrics?: NodeResourceMetricsSource;
  /** how often every node is scraped for metrics.k8s.io, in ms (default 15000, metrics-server's resolution) */
  metricsScrapeIntervalMs?: number;
  /** how pods/log|exec|attach|portforward and nodes/proxy dial node kubelets; also configureKubeletClient() */
  kubeletClient?: KubeletClientOptions;
}

export interface ApiServer {
  /** https://127.0.0.1:<port> (http:// without TLS) */
  url: string;
  port: number;
  adminKubeconfigPath: string;
  adminToken: string;
  /** PEM of the CA clients must trust and client certificates are checked against ('' without TLS) */
  caCertPem: string;
  /**
   * A signed token for an existing ServiceAccount, as `kubectl create token` gets one (default: the
   * server's audience, one hour); throws a 404 StatusError when the ServiceAccount does not exist.
   */
  createServiceAccountToken(namespace: string, name: string, options?: { audiences?: string[]; expirationSeconds?: number }): string;
  storage: ObjectStorage;
  /** (re)configures the kubelet client (pods/log|exec|attach|portforward, nodes/proxy); undefined removes it */
  configureKubeletClient(options: KubeletClientOptions | undefined): void;
  /** GET a kubelet path of a node as text (e.g. /metrics/resource); rejects with a StatusError */
  kubeletText(nodeName: string, path: string): Promise<string>;
  close(): Promise<void>;
}

export const DATABASE_FILE = 'apiserver.db';
export const ADMIN_KUBECONFIG_FILE = 'admin.kubeconfig';
export const ADMIN_USER = 'system:admin';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/** `<dataDir>` (and with `tls: 'auto'` its pki/) 0700, the credentials and the database 0600; narrowings are logged. */
function secureDataDir(dataDir: string, withPki: boolean, logger: Logger): void {
  const pki = join(dataDir, PKI_DIRECTORY);
  const database = join(dataDir, DATABASE_FILE);
  securePrivatePaths(
    {
      directories: withPki ? [dataDir, pki] : [dataDir],
      files: [
        join(dataDir, ADMIN_TOKEN_FILE),
        join(dataDir, SERVICE_ACCOUNT_KEY_FILE),
        join(dataDir, ADMIN_KUBECONFIG_FILE),
        database,
        `${database}-wal`,
        `${database}-shm`,
        ...(withPki ? [join(pki, CA_KEY_FILE), join(pki, SERVER_KEY_FILE)] : []),
      ],
    },
    (fields, message) => logger.warn(fields, message),
  );
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const host = options.host ?? '127.0.0.1';
  const tlsOption = options.tls ?? 'auto';
  if (tlsOption === false && !LOOPBACK_HOSTS.has(host)) {
    throw new Error(`plain HTTP (tls: false) is only allowed on loopback, not on ${host}; use TLS`);
  }
  const logger = options.logger ?? createLogger({ name: 'apiserver' });
  const now = options.now ?? (() => new Date());
  // the admin token, the service account key, the CA key and every stored Secret live here: owner
  // only, also over directories and files an older version (or a 022 umask) left readable
  secureDataDir(options.dataDir, tlsOption === 'auto', logger);

  const adminToken = await loadOrCreateAdminToken(options.dataDir, options.adminToken);
  const issuer = options.serviceAccountIssuer ?? DEFAULT_SERVICE_ACCOUNT_ISSUER;
  const serviceAccountTokens = new ServiceAccountTokens({
    signingKeyPem: await loadOrCreateServiceAccountKey(options.dataDir),
    issuer,
    audiences: options.apiAudiences ?? [issuer],
  });
  const tls = tlsOption === false ? undefined : await resolveTlsMaterial(tlsOption, options.dataDir, host, options.serverNames ?? []);

  const storage = openSqliteStorage({
    file: join(options.dataDir, DATABASE_FILE),
    ...(options.keepRevisions === undefined ? {} : { keepRevisions: options.keepRevisions }),
    ...(options.compactIntervalMs === undefined ? {} : { compactIntervalMs: options.compactIntervalMs }),
    onListenerError: (error, event) => logger.error({ err: error, key: event.key }, 'watch listener failed'),
    onBackgroundError: (error) => logger.error({ err: error }, 'storage background work failed'),
    ...(options.metricsRegistry === undefined ? {} : { registry: options.metricsRegistry }),
  });
  // metrics.k8s.io reads the store's Nodes and Pods, which exist once the catalog does
  const metricsObjects: { current?: MetricsObjectSource } = {};
  const scraper =
    options.nodeResourceMetrics === undefined
      ? undefined
      : new MetricsScraper({
          source: options.nodeResourceMetrics,
          nodeNames: () => (metricsObjects.current?.nodes() ?? []).map((node) => node.metadata.name ?? ''),
          logger: logger.child({ component: 'metrics-scraper' }),
          registry: options.metricsRegistry,
          ...(options.metricsScrapeIntervalMs === undefined ? {} : { intervalMs: options.metricsScrapeIntervalMs }),
        });
  const catalog = new ResourceCatalog(scraper === undefined ? [] : metricsResources(scraper.store, () => metricsObjects.current as MetricsObjectSource, now));
  const store = new ResourceStore(storage, catalog, now);
  metricsObjects.current = storedMetricsObjects(store);
  const controllerContext = { store, catalog, logger, now };
  const controllers: Controller[] = [new CrdController(controllerContext), new NamespaceController(controllerContext), new GarbageCollector(controllerContext)];
  const metrics = createApiMetrics(options.metricsRegistry);
  let authorizer: Authorizer;
  try {
    for (const controller of controllers) controller.start();
    ensureBootstrapPolicy(store);
    authorizer = new Authorizer(store, {
      onRefused: (refusal) => {
        metrics.writeRefused(refusal.reason);
        // who tried what on which object; the message names permissions, never object contents
        logger.warn(refusal, 'write refused by admission');
      },
    });
  } catch (error) {
    for (const controller of controllers) controller.stop();
    storage.close();
    throw error;
  }

  const nodeType = store.catalog.find('', 'v1', 'nodes');
  const kubeletClientFor = (kubeletOptions: KubeletClientOptions | undefined): KubeletClient | undefined =>
    kubeletOptions === undefined ? undefined : new KubeletClient(kubeletOptions, (name) => (nodeType === undefined ? undefined : store.find(nodeType, undefined, name)));
  const kubelet = { current: kubeletClientFor(options.kubeletClient) };
  const tokens: StaticToken[] = [{ token: adminToken, user: ADMIN_USER, groups: [MASTERS_GROUP] }, ...(options.tokens ?? [])];
  const authenticator = new Authenticator(tokens, serviceAccountCheck(store, serviceAccountTokens, now));
  const services: HandlerServices = {
    store,
    catalog,
    authorizer,
    serviceAccountTokens,
    kubelet,
    reviewToken: (token) => authenticator.authenticateToken(token),
    logger,
    now,
    maxRequestBodyBytes: options.maxRequestBodyBytes ?? MAX_REQUEST_BODY_BYTES,
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
    defaultWatchTimeoutSeconds: options.watchTimeoutSeconds ?? 1800,
    openWatches: new Set(),
  };
  let address = `${host}:0`;
  const dispatcher = new RequestDispatcher({
    services,
    authenticator,
    metrics,
    openapi: new OpenApiDocuments(catalog, SERVER_VERSION.gitVersion),
    registry: options.metricsRegistry,
    serverAddress: () => address,
  });
  const onRequest = (request: IncomingMessage, response: ServerResponse): void => dispatcher.handle(request, response);
  const server: Server =
    tls === undefined
      ? createHttpServer(onRequest)
      : createHttpsServer({ cert: tls.certPem, key: tls.keyPem, ca: tls.caCertPem, requestCert: true, rejectUnauthorized: false }, onRequest);
  server.on('upgrade', (request: IncomingMessage, socket, head: Buffer) => dispatcher.handleUpgrade(request, socket, head));
  server.on('clientError', (error, socket: Socket) => {
    logger.debug({ err: error }, 'malformed HTTP request');
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const body = JSON.stringify(badRequest(`malformed HTTP request: ${error.message}`).toStatus());
    socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  // watches and exec sessions are long-lived; node's default request timeout would cut them
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 6443, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    // e.g. the port is taken: leave nothing running behind
    authorizer.close();
    for (const controller of controllers) controller.stop();
    storage.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  address = `${urlHost}:${port}`;
  const url = `${tls === undefined ? 'http' : 'https'}://${address}`;
  const adminKubeconfigPath = join(options.dataDir, ADMIN_KUBECONFIG_FILE);
  await writeKubeconfig(adminKubeconfigPath, { server: url, caCertPem: tls?.caCertPem ?? '', token: adminToken });
  logger.info({ url, kubeconfig: adminKubeconfigPath, metricsApi: scraper !== undefined }, 'API server listening');
  scraper?.start();

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    adminKubeconfigPath,
    adminToken,
    caCertPem: tls?.caCertPem ?? '',
    createServiceAccountToken: (namespace, name, tokenOptions = {}) => {
      const account = store.get(serviceAccountType(store), namespace, name);
      return serviceAccountTokens.issue(
        { namespace, name, uid: account.metadata.uid ?? '' },
        { audiences: tokenOptions.audiences ?? [...serviceAccountTokens.audiences], expirationSeconds: tokenOptions.expirationSeconds ?? 3600, now: now() },
      ).token;
    },
    storage,
    configureKubeletClient: (kubeletOptions) => {
      kubelet.current = kubeletClientFor(kubeletOptions);
    },
    kubeletText: async (nodeName, path) => {
      const client = kubelet.current;
      if (client === undefined) throw serviceUnavailable(`reading ${path} of node ${nodeName} needs the kubelet client, and none is configured`);
      return client.getText(nodeName, path);
    },
    close: () => {
      closing ??= (async () => {
        await scraper?.stop();
        for (const watch of [...services.openWatches]) watch.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        authorizer.close();
        for (const controller of controllers) controller.stop();
        storage.close();
      })();
      return closing;
    },
  };
}

function serviceAccountType(store: ResourceStore): ResourceType {
  const type = store.catalog.find('', 'v1', 'serviceaccounts');
  if (type === undefined) throw new Error('serviceaccounts are not served');
  return type;
}

/** Service account tokens are checked against the live objects they name: deleting or recreating one ends them. */
function serviceAccountCheck(store: ResourceStore, tokens: ServiceAccountTokens, now: () => Date): ServiceAccountTokenCheck {
  const plurals = { ServiceAccount: 'serviceaccounts', Pod: 'pods', Secret: 'secrets', Node: 'nodes' } as const;
  return {
    tokens,
    now,
    liveUid: (kind, namespace, name) => {
      const type = store.catalog.find('', 'v1', plurals[kind]);
      if (type === undefined) return undefined;
      const object: KubeObject | undefined = store.find(type, type.namespaced ? namespace : undefined, name);
      if (object === undefined) return undefined;
      // a pod keeps its tokens through its graceful deletion, as its kubelet still acts for it
      return kind !== 'Pod' && object.metadata.deletionTimestamp !== undefined ? undefined : object.metadata.uid;
    },
  };
}

/** The Nodes and Pods metrics.k8s.io answers for, read from the store at each request. */
function storedMetricsObjects(store: ResourceStore): MetricsObjectSource {
  const type = (plural: 'nodes' | 'pods'): ResourceType => {
    const found = store.catalog.find('', 'v1', plural);
    if (found === undefined) throw new Error(`${plural} are not served`);
    return found;
  };
  const everything = { labelSelector: [], fieldSelector: [], limit: 0 };
  return {
    node: (name) => store.find(type('nodes'), undefined, name),
    nodes: () => store.list(type('nodes'), undefined, everything).items,
    pod: (namespace, name) => store.find(type('pods'), namespace, name),
    pods: (namespace) => store.list(type('pods'), namespace, everything).items,
  };
}

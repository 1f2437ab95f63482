// Where cloudcore's Kubernetes API is: a real cluster (kubeconfig, or the pod's service account),
// or the embedded API server on SQLite started here. Everything after this talks to it only through
// @kubernetes/client-node, as it would to any cluster.
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { KeepAliveKubeConfig } from '@kedge/kube-client';
import { startApiServer, type ApiServer, type KubeletClientOptions } from '@kedge/apiserver';
import { securePrivatePaths } from '@kedge/sqlite';
import type { Logger } from '@kedge/telemetry';
import type { Registry } from 'prom-client';
import type { CloudCoreConfig } from '@kedge/cloudcore-config';

export interface KubeApiConnection {
  kubeConfig: KubeConfig;
  source: KubeApiSource;
  /** the admin kubeconfig of the embedded API server, for people and kubectl */
  adminKubeconfigPath?: string;
  /**
   * embedded only: how the embedded API server dials node kubelets (pods/log|exec|attach|portforward,
   * nodes/proxy); a real cluster's API server has its own --kubelet-client-certificate
   */
  configureKubeletClient?: (options: KubeletClientOptions | undefined) => void;
  /** embedded only: GET a kubelet path of a node as text (for metrics.k8s.io) */
  kubeletText?: (nodeName: string, path: string) => Promise<string>;
  close(): Promise<void>;
}

export type KubeApiSource = 'embedded' | 'kubeconfig' | 'in-cluster';

/** Which Kubernetes API the config (and the pod environment) asks for, known before connecting. */
export function kubeApiSource(config: CloudCoreConfig): KubeApiSource {
  if (config.kubeAPI.kubeconfig) return 'kubeconfig';
  return process.env.KUBERNETES_SERVICE_HOST ? 'in-cluster' : 'embedded';
}

/**
 * `serveResourceMetrics`: the embedded API server serves metrics.k8s.io (kubectl top) from each edge node's
 * /metrics/resource, dialled through its kubelet client as metrics-server would; unused with a real cluster,
 * whose metrics-server scrapes cloudcore's kubelet API.
 */
export async function connectKubeApi(
  config: CloudCoreConfig,
  logger: Logger,
  registry: Registry,
  options: {
    serveResourceMetrics?: boolean;
    /**
     * an edge node this cloudcore serves: its /metrics/resource read in-process (what its kubelet API would
     * answer), undefined for any other node, which is dialled. Dialling our own kubelet API cost a TLS
     * handshake on both ends, in this process, per node and scrape (5,000 nodes: 333 a second).
     */
    localResourceMetrics?: (nodeName: string) => Promise<string> | undefined;
  } = {},
): Promise<KubeApiConnection> {
  // one kept-alive TLS connection pool for every typed API client, not a handshake per request (keep-alive-kube-config.ts)
  const kubeConfig = new KeepAliveKubeConfig();
  const source = kubeApiSource(config);
  if (source === 'kubeconfig' && config.kubeAPI.kubeconfig) {
    kubeConfig.loadFromFile(config.kubeAPI.kubeconfig);
    logger.info({ kubeconfig: config.kubeAPI.kubeconfig, server: kubeConfig.getCurrentCluster()?.server }, 'using a Kubernetes cluster from a kubeconfig');
    return { kubeConfig, source: 'kubeconfig', close: async () => kubeConfig.closeConnections() };
  }
  if (source === 'in-cluster') {
    kubeConfig.loadFromCluster();
    logger.info({ server: kubeConfig.getCurrentCluster()?.server }, 'using the cluster this pod runs in (service account)');
    return { kubeConfig, source: 'in-cluster', close: async () => kubeConfig.closeConnections() };
  }
  // the embedded API server keeps its own directory private; its parent is cloudcore's data dir
  securePrivatePaths({ directories: [config.dataDir] }, (fields, message) => logger.warn(fields, message));
  // the scraper runs after start, when the kubelet client (configured by the kubelet-api module) can dial nodes
  const started: { apiServer?: ApiServer } = {};
  const nodeResourceMetrics = async (nodeName: string): Promise<string> => {
    if (started.apiServer === undefined) throw new Error('the embedded API server is not started');
    return options.localResourceMetrics?.(nodeName) ?? started.apiServer.kubeletText(nodeName, '/metrics/resource');
  };
  const apiServer = await startApiServer({
    dataDir: join(config.dataDir, 'apiserver'),
    host: config.kubeAPI.embedded.address,
    port: config.kubeAPI.embedded.port,
    logger: logger.child({ module: 'apiserver' }),
    metricsRegistry: registry,
    ...(options.serveResourceMetrics === true ? { nodeResourceMetrics, metricsScrapeIntervalMs: config.kubeAPI.embedded.metricsScrapeIntervalSeconds * 1000 } : {}),
  });
  started.apiServer = apiServer;
  kubeConfig.loadFromFile(apiServer.adminKubeconfigPath);
  logger.info(
    { url: apiServer.url, kubeconfig: apiServer.adminKubeconfigPath },
    `embedded API server ready; try: kubectl --kubeconfig ${apiServer.adminKubeconfigPath} get nodes`,
  );
  return {
    kubeConfig,
    source: 'embedded',
    adminKubeconfigPath: apiServer.adminKubeconfigPath,
    configureKubeletClient: (options) => apiServer.configureKubeletClient(options),
    kubeletText: (nodeName, path) => apiServer.kubeletText(nodeName, path),
    close: async () => {
      kubeConfig.closeConnections();
      await apiServer.close();
    },
  };
}

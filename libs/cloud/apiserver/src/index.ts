// @kedge/apiserver: an embedded Kubernetes-compatible API server on SQLite, for cloudcore on one
// machine without a cluster (as K3s runs Kubernetes on kine).
export {
  ADMIN_KUBECONFIG_FILE,
  ADMIN_TOKEN_FILE,
  DATABASE_FILE,
  SERVICE_ACCOUNT_KEY_FILE,
  startApiServer,
  type ApiServer,
  type ApiServerOptions,
  type ApiServerTlsOptions,
} from './server';
export { KubeletClient, DEFAULT_KUBELET_PORT, DEFAULT_PREFERRED_ADDRESS_TYPES, kubeletLocation, type KubeletClientOptions, type KubeletLocation, type NodeLike } from './kubelet-client';
export type { StaticToken } from './auth';
export { MetricsScraper, parsePrometheusText, PrometheusTextError, type NodeResourceMetricsSource, type PrometheusSample } from './metrics-api';

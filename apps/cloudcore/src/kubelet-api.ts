// The kubelet-api module: CloudStream behind the kubelet API for every edge node this cloudcore holds,
// in both modes. A node gets its port once it has both a hub session and an edge Node (the port in its
// Node status when free), keeps it while cloudcore runs, and loses it when its Node is deleted. With the embedded
// API server, that server gets a kubelet-client certificate of the cloud CA and dials nodes through here.
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { CloudStream, CloudStreamMetrics, KubeletApiMetrics, KubeletApiServer, clusterAuthBackend, type KubeletPod, type NodeReadEndpoints } from '@kedge/cloudstream';
import type { CloudHub } from '@kedge/cloudhub';
import type { CloudCoreConfig } from '@kedge/cloudcore-config';
import { EDGE_ROLE_LABEL, KubeJson, ManagedInformer, httpStatusOf } from '@kedge/kube-client';
import type { KubeObject } from '@kedge/kube-core';
import { issueServerCertificate, type CertificateAuthority, type CertificateStore } from '@kedge/pki';
import type { MessageRouter } from '@kedge/router';
import type { Logger } from '@kedge/telemetry';
import type { Registry } from 'prom-client';
import type { KubeApiConnection } from './kube-api';
import { loadOrCreateKubeletClientCertificate } from './kubelet-client-certificate';

export interface KubeletApiParts {
  config: CloudCoreConfig;
  hub: CloudHub;
  router: MessageRouter;
  logger: Logger;
  registry: Registry;
  kubeApi: KubeApiConnection;
  pki: { store: CertificateStore; authority: CertificateAuthority };
  /** the edge controller, once it runs: writes a node's new endpoint into its Node */
  nodeEndpointChanged(nodeName: string): Promise<void>;
  /** /pods, /stats/summary and /metrics/resource of edge nodes; without them those answer 501 */
  readEndpoints?: NodeReadEndpoints;
}

export interface RunningKubeletApi {
  server: KubeletApiServer;
  cloudStream: CloudStream;
  advertiseAddress: string;
  /** whether `nodeName` is an edge node (its Node labelled as one), whose kubelet API this cloudcore serves */
  serves(nodeName: string): boolean;
  close(): Promise<void>;
}

/** env POD_IP (the Deployment's downward API), else the first hub advertise address, else the first non-internal IPv4. */
export function kubeletApiAdvertiseAddress(config: CloudCoreConfig, env: NodeJS.ProcessEnv = process.env): string {
  if (config.kubeletApi.advertiseAddress) return config.kubeletApi.advertiseAddress;
  if (env['POD_IP']) return env['POD_IP'];
  const hub = config.cloudHub.advertiseAddresses[0];
  if (hub) return hub;
  for (const entries of Object.values(networkInterfaces())) {
    const found = entries?.find((entry) => entry.family === 'IPv4' && !entry.internal);
    if (found) return found.address;
  }
  return '127.0.0.1';
}

/**
 * Without kubeletApi.clientCAFile: the cloud CA, and with a real cluster also the cluster's CA (the pod's
 * service account ca.crt, or the kubeconfig's), which signs kube-apiserver's kubelet-client certificate in
 * kubeadm-style clusters, as a kubelet's --client-ca-file is that CA.
 */
function defaultClientCas(kubeApi: KubeApiConnection, authority: CertificateAuthority, logger: Logger): string {
  if (kubeApi.source === 'embedded') return authority.certPem;
  const cluster = kubeApi.kubeConfig.getCurrentCluster();
  let clusterCa: string | undefined;
  try {
    clusterCa = cluster?.caData ? Buffer.from(cluster.caData, 'base64').toString('utf8') : cluster?.caFile ? readFileSync(cluster.caFile, 'utf8') : undefined;
  } catch (error) {
    logger.warn({ err: error, caFile: cluster?.caFile }, 'the cluster CA cannot be read; set kubeletApi.clientCAFile');
  }
  if (clusterCa === undefined) {
    logger.warn('kubeletApi.clientCAFile is not set and the cluster CA is unknown: only client certificates of the cloud CA (and bearer tokens) are accepted');
    return authority.certPem;
  }
  logger.info('kubeletApi.clientCAFile is not set: accepting client certificates of the cluster CA and the cloud CA');
  return `${authority.certPem.trim()}\n${clusterCa.trim()}\n`;
}

export async function startKubeletApi(parts: KubeletApiParts): Promise<RunningKubeletApi> {
  const { config, hub, router, kubeApi, pki, registry } = parts;
  const logger = parts.logger.child({ module: 'kubelet-api' });
  const settings = config.kubeletApi;
  const advertiseAddress = kubeletApiAdvertiseAddress(config);
  const json = new KubeJson(kubeApi.kubeConfig, 15_000);

  const clientCaPem = settings.clientCAFile ? readFileSync(settings.clientCAFile, 'utf8') : defaultClientCas(kubeApi, pki.authority, logger);
  const servingCertificate = await issueServerCertificate(pki.authority, {
    commonName: 'kedge-kubelet-api',
    ipAddresses: [...new Set([advertiseAddress, ...(settings.bindAddress === '0.0.0.0' || settings.bindAddress === '::' ? [] : [settings.bindAddress])])],
    dnsNames: ['localhost'],
  });

  const cloudStream = new CloudStream({ hub, router, logger: parts.logger.child({ module: 'cloudstream' }), metrics: new CloudStreamMetrics(registry) });
  const server = new KubeletApiServer({
    streams: cloudStream,
    hasSession: (nodeName) => hub.isConnected(nodeName),
    findPod: async (namespace, name) => {
      try {
        return (await json.get(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`)) as KubeletPod;
      } catch (error) {
        if (httpStatusOf(error) === 404) return undefined;
        throw error;
      }
    },
    auth: clusterAuthBackend(kubeApi.kubeConfig),
    clientCaPem,
    servingCertificate,
    advertiseAddress,
    ...(parts.readEndpoints ? { readEndpoints: parts.readEndpoints } : {}),
    bindAddress: settings.bindAddress,
    portRangeStart: settings.portRangeStart,
    portRangeSize: settings.portRangeSize ?? Math.min(config.cloudHub.nodeLimit, 65_536 - settings.portRangeStart),
    connectionLimits: config.cloudHub.connectionLimits,
    handshakeTimeoutMs: config.cloudHub.handshakeTimeoutSeconds * 1000,
    logger,
    metrics: new KubeletApiMetrics(registry),
  });

  if (kubeApi.configureKubeletClient !== undefined) {
    // the embedded API server dials nodes as kube-apiserver does: a client certificate of the cloud CA, the cloud CA to verify us
    const client = await loadOrCreateKubeletClientCertificate(pki.store, pki.authority);
    kubeApi.configureKubeletClient({ clientCertPem: client.certPem, clientKeyPem: client.keyPem, caPem: pki.authority.certPem });
  }

  type EdgeNode = KubeObject & { status?: { daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } } };
  // A node's port listens only once the node has both a hub session and an edge Node: a connection
  // without a Node runs no pods, so nothing dials its kubelet API, and an idle link costs no listening
  // socket (an open file each) and no API read. The Node comes from the informer's cache, never a GET.
  const allocateIfWanted = (nodeName: string): void => {
    if (server.endpointOf(nodeName) !== undefined || !hub.isConnected(nodeName)) return;
    const node = nodes.cache.get(nodeName) as EdgeNode | undefined;
    if (node === undefined) return;
    void (async () => {
      try {
        await server.allocate(nodeName, node.status?.daemonEndpoints?.kubeletEndpoint?.Port);
        await parts.nodeEndpointChanged(nodeName);
      } catch (error) {
        logger.error({ nodeName, err: error }, 'no kubelet API endpoint for the edge node: logs, exec and metrics of its pods will fail');
      }
    })();
  };
  const unsubscribe = hub.onNodeConnection((event) => {
    if (event.type === 'connected') allocateIfWanted(event.nodeName);
  });
  // a deleted Node frees its port (a node that joins again gets one when it connects)
  const nodes: ManagedInformer<KubeObject> = new ManagedInformer<KubeObject>({
    kubeConfig: kubeApi.kubeConfig,
    json,
    resource: 'nodes',
    path: '/api/v1/nodes',
    labelSelector: EDGE_ROLE_LABEL,
    logger: logger.child({ informer: 'kubelet-api-nodes' }),
    onEvent: (event, node) => {
      const name = node.metadata?.name;
      if (typeof name !== 'string') return;
      if (event === 'delete') void server.release(name);
      // queued: the cache holds the object only after the informer's own handlers ran
      else queueMicrotask(() => allocateIfWanted(name));
    },
  });
  await nodes.start();
  logger.info({ advertiseAddress, bindAddress: settings.bindAddress, portRangeStart: settings.portRangeStart }, 'kubelet API for edge nodes ready');

  return {
    server,
    cloudStream,
    advertiseAddress,
    serves: (nodeName) => nodes.cache.get(nodeName) !== undefined,
    close: async () => {
      unsubscribe();
      await nodes.stop();
      kubeApi.configureKubeletClient?.(undefined);
      cloudStream.close();
      await server.close();
    },
  };
}

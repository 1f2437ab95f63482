// MetaServer on the gateway: the local Kubernetes API that kubectl on the gateway and (with podAccess) the
// pods read, served from edgecore's store. Its local credential (token, local CA, serving certificate) lives
// in a root-only directory; the kubeconfig beside it is what the operator's kubectl on the gateway uses.
// Loaded by edgecore only when metaServer.enable is on (features.ts).
import { join } from 'node:path';
import { primaryHostIP } from '@kedge/edged';
import type { EdgeCoreConfig } from '@kedge/edgecore-config';
import { ensureLocalCredential, PodAccess, startMetaServer, writeLocalKubeconfig, type HubPodApiCloud, type MetaServer, type MetaStore } from '@kedge/metamanager';
import type { Logger } from '@kedge/telemetry';
import type { Registry } from 'prom-client';

export interface RunningMetaServer {
  server: MetaServer;
  port: number;
  kubeconfig: string;
  caPem: string;
}

export async function startEdgeMetaServer(
  config: EdgeCoreConfig,
  deps: { store: MetaStore; podApiCloud: HubPodApiCloud; registry: Registry; logger: Logger },
): Promise<RunningMetaServer> {
  const { address, port, allowedHosts, podAccess } = config.metaServer;
  const podListener = podAccess.enable ? { host: podAccess.address === '' ? primaryHostIP() : podAccess.address, port: podAccess.port } : undefined;
  const credential = await ensureLocalCredential({ dir: join(config.dataDir, 'metaserver'), listenHost: address, allowedHosts: [...allowedHosts, ...(podListener ? [podListener.host] : [])] });
  const { store, registry, logger } = deps;
  const server = await startMetaServer({
    store,
    host: address,
    port,
    localToken: credential.token,
    allowedHosts,
    tls: credential.tls,
    registry,
    logger,
    // confirmed reviews and decisions live in edgecore.db, so pods keep reading after an offline restart
    ...(podListener ? { podListener, podAccess: new PodAccess({ cloud: deps.podApiCloud, reviews: store.podReviews, logger }) } : {}),
  });
  const reachable = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '[::1]' : address.includes(':') ? `[${address}]` : address;
  const kubeconfig = writeLocalKubeconfig(credential, `https://${reachable}:${server.port}`);
  return { server, port: server.port, kubeconfig, caPem: credential.caPem };
}

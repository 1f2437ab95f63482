// MetaServer on the gateway: the local Kubernetes API that kubectl on the gateway and (with podAccess) the
// pods read, served from edgecore's store. Its local credential (token, local CA, serving certificate) lives
// in a root-only directory; the kubeconfig beside it is what the operator's kubectl on the gateway uses.
// Loaded by edgecore only when metaServer.enable is on (features.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { primaryHostIP } from '@kedge/edged';
import type { EdgeCoreConfig } from '@kedge/edgecore-config';
import { ensureLocalCredential, PodAccess, startMetaServer, writeLocalKubeconfig, type HubPodApiCloud, type MetaServer, type MetaStore } from '@kedge/metamanager';
import { CA_CERT_FILE, SERVER_CERT_FILE } from '@kedge/pki';
import type { Logger } from '@kedge/telemetry';
import type { Registry } from 'prom-client';
import { runStartupHelper } from './startup-helper';

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
  const dir = join(config.dataDir, 'metaserver');
  const request = { dir, listenHost: address, allowedHosts: [...allowedHosts, ...(podListener ? [podListener.host] : [])] };
  // Making the local CA and the serving certificate loads @peculiar/x509, which this process would then hold for
  // good: on the first start (or after an operator removed them) the start-up helper makes them. Later starts read
  // them here, which needs only node:crypto (a re-issue for new names or an ageing certificate still works here).
  const firstTime = !existsSync(join(dir, CA_CERT_FILE)) || !existsSync(join(dir, SERVER_CERT_FILE));
  const credential = firstTime ? await runStartupHelper('metaserver-credential', request) : await ensureLocalCredential(request);
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

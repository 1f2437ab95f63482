// Composes a running cloudcore: the Kubernetes API (embedded or a cluster), the PKI from the data dir
// or a Secret, the certificate server, the hub listeners, CloudHub with its router, and the
// metrics/health endpoint. Stops in the reverse order.
import { loadOrCreateAuthority, loadOrCreateServerCertificate, TokenUseLedger } from '@kedge/pki';
import { CloudHub, CloudHubMetrics } from '@kedge/cloudhub';
import { CloudStream, CloudStreamMetrics } from '@kedge/cloudstream';
import { MessageRouter } from '@kedge/router';
import { createMetricsRegistry, startMetricsServer, type Logger, type MetricsServer } from '@kedge/telemetry';
import { isQuicAvailable, listenHub, type HubListener, type TransportKind } from '@kedge/transport';
import { startDeviceController } from '@kedge/devicecontroller';
import { startEdgeController } from '@kedge/edgecontroller';
import { startNodeLifecycle } from '@kedge/nodelifecycle';
import { startWorkloadControllers } from '@kedge/controllers';
import { Counter } from 'prom-client';
import { startCertificateServer, type CertificateServer } from './certificates';
import type { CloudCoreConfig } from './config/cloudcore-config';
import { connectKubeApi } from './kube-api';
import { choosePkiStore } from './pki-store';

export interface RunningCloudCore {
  readonly hub: CloudHub;
  readonly router: MessageRouter;
  close(): Promise<void>;
}

export async function startCloudCore(config: CloudCoreConfig, logger: Logger): Promise<RunningCloudCore> {
  const { cloudHub: hubConfig } = config;
  const registry = createMetricsRegistry();
  const router = new MessageRouter({
    onHandlerError: (error, message) =>
      logger.error({ error: String(error), group: message.route.group, resource: message.route.resource }, 'module failed on a message'),
  });
  const hub = new CloudHub({
    router,
    logger: logger.child({ module: 'cloudhub' }),
    metrics: new CloudHubMetrics(registry),
    keepaliveTimeoutMs: hubConfig.keepaliveTimeoutSeconds * 1000,
    nodeLimit: hubConfig.nodeLimit,
  });

  const certificateEvents = new Counter({
    name: 'kedge_certificate_requests_total',
    help: 'Node certificate requests at the certificate server, by result',
    labelNames: ['result', 'reason'],
    registers: [registry],
  });
  const closers: Array<() => Promise<void>> = [];
  try {
    // the API server comes first: with pki.store secret the CA lives in it (and the embedded one must be up)
    const kubeApi = await connectKubeApi(config, logger, registry);
    closers.push(() => kubeApi.close());
    const pki = choosePkiStore(config, kubeApi, logger);
    logger.info({ store: pki.kind, location: pki.store.location, reason: pki.reason }, 'certificate store chosen');
    const authority = await loadOrCreateAuthority(pki.store);
    const serverCert = await loadOrCreateServerCertificate(pki.store, {
      dnsNames: hubConfig.dnsNames,
      ipAddresses: hubConfig.advertiseAddresses,
    });
    logger.info({ store: pki.kind, location: pki.store.location }, 'certificate authority ready');

    if (kubeApi.registerPodStreamHandler) {
      // kubectl logs/exec for edge pods, tunnelled over each node's hub session
      const cloudStream = new CloudStream({ hub, router, logger: logger.child({ module: 'cloudstream' }), metrics: new CloudStreamMetrics(registry) });
      const unregister = kubeApi.registerPodStreamHandler(cloudStream);
      closers.push(async () => {
        unregister();
        cloudStream.close();
      });
    }
    if (config.edgeController.enable) {
      // before any listener accepts edges: an inventory must find the controller there
      const edgeController = startEdgeController({
        kubeConfig: kubeApi.kubeConfig,
        hub,
        router,
        logger,
        registry,
        options: { syncServices: config.edgeController.syncServices },
      });
      closers.push(() => edgeController.close());
    }
    if (config.deviceController.enable) {
      // installs the device CRDs; an edge connecting before its caches sync gets its devices once they do
      const deviceController = startDeviceController({ kubeConfig: kubeApi.kubeConfig, hub, router, logger, registry });
      closers.push(() => deviceController.close());
      await deviceController.ready;
    }
    if (config.nodeLifecycle.enable) {
      const lifecycle = startNodeLifecycle({
        kubeConfig: kubeApi.kubeConfig,
        logger: logger.child({ module: 'nodelifecycle' }),
        registry,
        gracePeriodMs: config.nodeLifecycle.gracePeriodSeconds * 1000,
        checkIntervalMs: config.nodeLifecycle.checkIntervalSeconds * 1000,
      });
      closers.push(() => lifecycle.close());
    }
    const controllersWanted = config.controllers.enable === true || (config.controllers.enable === 'auto' && kubeApi.source === 'embedded');
    if (controllersWanted) {
      // kube-controller-manager and kube-scheduler in-process, as K3s runs them beside its API server
      const workloads = startWorkloadControllers({ kubeConfig: kubeApi.kubeConfig, logger, registry });
      closers.push(() => workloads.close());
    } else {
      logger.info({ kubeApi: kubeApi.source, enable: config.controllers.enable }, 'workload controllers and scheduler not started (the cluster runs its own)');
    }

    let certificateServer: CertificateServer | undefined;
    if (hubConfig.https.enable) {
      certificateServer = await startCertificateServer({
        host: hubConfig.https.address,
        port: hubConfig.https.port,
        authority,
        serverCert,
        ledger: new TokenUseLedger(pki.store),
        nodeCertValidityDays: hubConfig.nodeCertificateValidityDays,
        onEvent: (event) => {
          if (event.type === 'issued') {
            certificateEvents.inc({ result: 'issued', reason: event.via });
            logger.info({ nodeName: event.nodeName, via: event.via, serial: event.serialNumber }, 'node certificate issued');
          } else {
            certificateEvents.inc({ result: 'refused', reason: event.reason });
            logger.warn({ nodeName: event.nodeName, reason: event.reason, remoteAddress: event.remoteAddress }, 'node certificate refused');
          }
        },
      });
      closers.push(() => certificateServer!.close());
    }

    const tls = { cert: serverCert.certPem, key: serverCert.keyPem, ca: authority.certPem };
    const limits = { maxFrameBytes: hubConfig.maxFrameBytes };
    const listeners: Partial<Record<TransportKind, HubListener>> = {};
    if (hubConfig.websocket.enable) {
      listeners.websocket = await listenHub('websocket', { host: hubConfig.websocket.address, port: hubConfig.websocket.port, tls, limits });
    }
    if (hubConfig.quic.enable) {
      if (await isQuicAvailable()) {
        listeners.quic = await listenHub('quic', { host: hubConfig.quic.address, port: hubConfig.quic.port, tls, limits });
      } else {
        logger.error('QUIC is enabled in the config but its native module cannot load on this machine; serving WebSocket only');
      }
    }
    for (const listener of Object.values(listeners)) hub.attach(listener);
    closers.push(() => hub.close());

    const metricsServer: MetricsServer | undefined = config.metrics.enable
      ? await startMetricsServer({
          host: config.metrics.address,
          port: config.metrics.port,
          registry,
          routes: { '/debug/nodes': () => hub.listSessions() },
        })
      : undefined;
    if (metricsServer) closers.push(() => metricsServer.close());

    logger.info(
      {
        ports: {
          websocket: listeners.websocket?.port,
          quic: listeners.quic?.port,
          https: certificateServer?.port,
          metrics: metricsServer?.port,
        },
        dataDir: config.dataDir,
        pkiStore: pki.store.location,
        kubeApi: kubeApi.source,
        kubeconfig: kubeApi.adminKubeconfigPath,
      },
      'cloudcore ready',
    );
  } catch (error) {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    throw error;
  }

  return {
    hub,
    router,
    async close() {
      for (const close of [...closers].reverse()) await close();
    },
  };
}

// Composes a running cloudcore as a list of modules built from its config: the Kubernetes API (embedded
// or a cluster), the PKI from the data dir or a Secret, the cloud controllers, the certificate server,
// CloudHub's listeners and the metrics/health endpoint. The ModuleRunner starts them in dependency
// order and stops them in reverse.
import { join } from 'node:path';
import { CA_KEY_FILE, JOIN_TOKENS_FILE, JoinTokenLedger, loadOrCreateAuthority, loadOrCreateServerCertificate, SERVER_KEY_FILE } from '@kedge/pki';
import { securePrivatePaths } from '@kedge/sqlite';
import { CloudHub, CloudHubMetrics } from '@kedge/cloudhub';
import { NodeQueries, NodeQueryMetrics } from '@kedge/cloudstream';
import { MessageRouter } from '@kedge/router';
import { LogThrottle, createMetricsRegistry, type Logger } from '@kedge/telemetry';
import { isQuicAvailable, listenHub, type HubListener, type TransportKind } from '@kedge/transport';
import { DEVICE_METHOD_PATH_PREFIX, DeviceMethodApi, DeviceMethodInvoker, MethodAuth, clusterMethodAuthBackend, startDeviceController } from '@kedge/devicecontroller';
import { serviceUnavailable } from '@kedge/kube-core';
import { startEdgeController, type EdgeController } from '@kedge/edgecontroller';
import { startNodeLifecycle } from '@kedge/nodelifecycle';
import { startWorkloadControllers } from '@kedge/controllers';
import type { CloudCoreConfig } from '@kedge/cloudcore-config';
import { defineModule, metricsModule, ModuleRunner, type DefinedModule, type Module, type ModulesHealth } from '@kedge/modules';
import { Counter, type Registry } from 'prom-client';
import { loadGatewayBundles, nodeExistsCheck, startCertificateServer, type HttpsApi } from './certificates';
import { connectKubeApi, kubeApiSource, type KubeApiConnection } from './kube-api';
import { startKubeletApi, type RunningKubeletApi } from './kubelet-api';
import { KUBELET_CLIENT_KEY_FILE } from './kubelet-client-certificate';
import { choosePkiStore } from './pki-store';
import { startCertificateRevocation, type CertificateRevocation } from './revocation';

export interface RunningCloudCore {
  readonly hub: CloudHub;
  readonly router: MessageRouter;
  readonly modules: ModuleRunner;
  stop(): Promise<void>;
}

/** Builds cloudcore's modules and starts them; a failure names the module (ModuleStartError). */
export async function startCloudCore(config: CloudCoreConfig, logger: Logger): Promise<RunningCloudCore> {
  const registry = createMetricsRegistry();
  const router = new MessageRouter({
    onHandlerError: (error, message) =>
      logger.error({ error: String(error), group: message.route.group, resource: message.route.resource }, 'module failed on a message'),
  });
  // the revocation module starts before the hub's listeners, so no edge connects unchecked
  const revocation: { running?: CertificateRevocation } = {};
  const hub = new CloudHub({
    router,
    logger: logger.child({ module: 'cloudhub' }),
    metrics: new CloudHubMetrics(registry),
    keepaliveTimeoutMs: config.cloudHub.keepaliveTimeoutSeconds * 1000,
    nodeLimit: config.cloudHub.nodeLimit,
    admitPeer: (peer) => revocation.running?.admitPeer(peer),
    inbound: config.cloudHub.inbound,
  });
  // the kubelet's read endpoints of each edge, asked over its hub session
  const nodeQueries = new NodeQueries({ hub, router, metrics: new NodeQueryMetrics(registry) });
  const modules = cloudCoreModules(config, { hub, router, logger, registry, health: () => runner.health(), revocation, nodeQueries });
  const runner = new ModuleRunner({ modules: modules.list, logger });
  await runner.start();
  const kubeApi = modules.kubeApi.running;
  logger.info(
    {
      ports: {
        websocket: modules.listeners.running.websocket?.port,
        quic: modules.listeners.running.quic?.port,
        webtransport: modules.listeners.running.webtransport?.port,
        https: modules.certificateServer?.running.port,
        metrics: modules.metrics?.running.port,
      },
      dataDir: config.dataDir,
      pkiStore: modules.pki.running.store.location,
      kubeApi: kubeApi.source,
      kubeconfig: kubeApi.adminKubeconfigPath,
      modules: runner.order,
    },
    'cloudcore ready',
  );
  return { hub, router, modules: runner, stop: () => runner.stop() };
}

interface CloudCoreParts {
  hub: CloudHub;
  router: MessageRouter;
  logger: Logger;
  registry: Registry;
  /** the runner's health summary, for /healthz and /readyz */
  health: () => ModulesHealth;
  /** filled in by the revocation module, read by the hub's admission check */
  revocation: { running?: CertificateRevocation };
  nodeQueries: NodeQueries;
}

function cloudCoreModules(config: CloudCoreConfig, { hub, router, logger, registry, health, revocation, nodeQueries }: CloudCoreParts) {
  const { cloudHub: hubConfig } = config;
  const source = kubeApiSource(config);

  // modules that call each other once running (the kubelet API, the edge controller, device methods)
  const wiring: { kubeletApi?: RunningKubeletApi; edgeController?: EdgeController; deviceMethods?: DeviceMethodApi } = {};
  // the API server comes first: with pki.store secret the CA lives in it (and the embedded one must be up)
  const kubeApi = defineModule({
    name: 'kube-api',
    // kubectl top reads each edge's /metrics/resource as the node's kubelet API answers it (cloudstream's
    // node queries over the hub), as metrics-server does, without dialling that API in this same process
    start: () =>
      connectKubeApi(config, logger, registry, {
        serveResourceMetrics: true,
        // an edge node (whose kubelet API is this cloudcore's) is asked in-process, as that API would ask it;
        // one not connected fails at once, as its kubelet API would answer 503
        localResourceMetrics: (nodeName) => (wiring.kubeletApi?.serves(nodeName) === true ? nodeQueries.resourceMetrics(nodeName) : undefined),
      }),
    stop: (api) => api.close(),
    health: (api) => ({ ok: true, details: { source: api.source } }),
  });

  const pki = pkiModule(config, kubeApi, logger);

  // revoked node certificates: reloaded from the store, and a deleted edge Node revokes its own
  const revocations = defineModule({
    name: 'revocation',
    dependsOn: ['kube-api', 'pki'],
    start: async () => {
      if (!config.pki.revokeOnNodeDelete) logger.warn('pki.revokeOnNodeDelete is off: deleting an edge Node leaves its certificates valid');
      const running = await startCertificateRevocation({
        store: pki.running.store,
        ...(config.pki.revokeOnNodeDelete ? { kubeConfig: kubeApi.running.kubeConfig } : {}),
        onChange: () => hub.revalidateSessions(),
        reloadIntervalMs: config.pki.revocationReloadSeconds * 1000,
        nodeCertificateValidityDays: hubConfig.nodeCertificateValidityDays,
        logger: logger.child({ module: 'revocation' }),
        registry,
      });
      revocation.running = running;
      return running;
    },
    stop: (running) => running.close(),
    health: (running) => ({ ok: true, details: { entries: running.current().size } }),
  });

  const controllers: Module[] = [];
  // the kubelet API for edge nodes (logs, exec, attach, port-forward, stats), in both modes; the edge
  // controller points each Node's addresses at it, and it tells the controller when a node got its port
  const kubeletApi = config.kubeletApi.enable
    ? defineModule({
        name: 'kubelet-api',
        dependsOn: ['kube-api', 'pki'],
        start: async () => {
          const running = await startKubeletApi({
            config,
            hub,
            router,
            logger,
            registry,
            kubeApi: kubeApi.running,
            pki: pki.running,
            nodeEndpointChanged: async (nodeName) => wiring.edgeController?.nodeEndpointChanged(nodeName),
            // /pods, /stats/summary and /metrics/resource: asked of the edge over its hub session
            readEndpoints: nodeQueries,
          });
          wiring.kubeletApi = running;
          return running;
        },
        stop: async (running) => {
          wiring.kubeletApi = undefined;
          await running.close();
        },
        health: (running) => ({ ok: true, details: { advertiseAddress: running.advertiseAddress } }),
      })
    : undefined;
  if (kubeletApi === undefined) logger.warn('kubeletApi.enable is off: kubectl logs, exec, attach and port-forward to edge pods will fail');
  if (kubeletApi) controllers.push(kubeletApi);
  if (config.edgeController.enable) {
    controllers.push(
      defineModule({
        name: 'edgecontroller',
        dependsOn: ['kube-api'],
        start: () => {
          const edgeController = startEdgeController({
            kubeConfig: kubeApi.running.kubeConfig,
            hub,
            router,
            logger,
            registry,
            options: {
              syncServices: config.edgeController.syncServices,
              events: { perSecond: config.edgeController.eventsPerSecond, burst: config.edgeController.eventBurst },
            },
            nodeEndpoint: (nodeName) => wiring.kubeletApi?.server.endpointOf(nodeName),
          });
          wiring.edgeController = edgeController;
          return edgeController;
        },
        stop: (edgeController) => {
          wiring.edgeController = undefined;
          return edgeController.close();
        },
      }),
    );
  }
  if (config.deviceController.enable) {
    controllers.push(
      defineModule({
        name: 'devicecontroller',
        dependsOn: ['kube-api'],
        // installs the device CRDs; an edge connecting before its caches sync gets its devices once they do
        start: async () => {
          const deviceController = startDeviceController({ kubeConfig: kubeApi.running.kubeConfig, hub, router, logger, registry, mirrorDeviceStatus: config.deviceController.mirrorDeviceStatus });
          try {
            await deviceController.ready;
          } catch (error) {
            await deviceController.close();
            throw error;
          }
          // device methods from the cloud, served on the certificate port (docs/devices.md)
          const kubeConfig = kubeApi.running.kubeConfig;
          wiring.deviceMethods = new DeviceMethodApi({
            invoker: new DeviceMethodInvoker({ lookup: deviceController.lookup, hub, router, timeoutMs: config.deviceController.methodTimeoutSeconds * 1000 }),
            auth: new MethodAuth(clusterMethodAuthBackend(kubeConfig)),
            logger: logger.child({ module: 'devicecontroller' }),
            registry,
          });
          return deviceController;
        },
        stop: (deviceController) => {
          wiring.deviceMethods?.close();
          wiring.deviceMethods = undefined;
          return deviceController.close();
        },
      }),
    );
  }
  if (config.nodeLifecycle.enable) {
    controllers.push(
      defineModule({
        name: 'nodelifecycle',
        dependsOn: ['kube-api'],
        start: () =>
          startNodeLifecycle({
            kubeConfig: kubeApi.running.kubeConfig,
            logger: logger.child({ module: 'nodelifecycle' }),
            registry,
            gracePeriodMs: config.nodeLifecycle.gracePeriodSeconds * 1000,
            checkIntervalMs: config.nodeLifecycle.checkIntervalSeconds * 1000,
          }),
        stop: (lifecycle) => lifecycle.close(),
      }),
    );
  }
  if (config.controllers.enable === true || (config.controllers.enable === 'auto' && source === 'embedded')) {
    // kube-controller-manager and kube-scheduler in-process, as K3s runs them beside its API server
    controllers.push(
      defineModule({
        name: 'workload-controllers',
        dependsOn: ['kube-api'],
        start: () => startWorkloadControllers({ kubeConfig: kubeApi.running.kubeConfig, logger, registry }),
        stop: (workloads) => workloads.close(),
      }),
    );
  } else {
    logger.info({ kubeApi: source, enable: config.controllers.enable }, 'workload controllers and scheduler not started (the cluster runs its own)');
  }

  // mounted on the certificate port; it answers 503 while the device controller is not running
  const deviceMethodApi: HttpsApi = {
    serves: (path) => path.startsWith(DEVICE_METHOD_PATH_PREFIX),
    handle: async (request, response, path) => {
      if (wiring.deviceMethods !== undefined) return wiring.deviceMethods.handle(request, response, path);
      const status = serviceUnavailable('the device controller is not running in this cloudcore (deviceController.enable), so device methods cannot be invoked').toStatus();
      response.writeHead(503, { 'Content-Type': 'application/json', Connection: 'close' }).end(JSON.stringify(status));
    },
  };
  const certificateServer = hubConfig.https.enable
    ? certificateServerModule(config, { pki, kubeApi, hub, revocations, webSocketPort: () => hubWebSocketPort(), apis: [deviceMethodApi] }, logger, registry)
    : undefined;

  // the port edges dial, for the install script; the configured one until the listener has bound (port 0 in tests)
  const hubWebSocketPort = (): number | undefined => {
    try {
      return listeners.running.websocket?.port;
    } catch {
      return hubConfig.websocket.port === 0 ? undefined : hubConfig.websocket.port;
    }
  };

  const listeners = defineModule({
    name: 'cloudhub',
    // edges connect only once the controllers are there: an inventory must find the edge controller
    dependsOn: ['pki', 'revocation', ...controllers.filter((m) => ['edgecontroller', 'devicecontroller', 'kubelet-api'].includes(m.name)).map((m) => m.name)],
    start: async () => {
      const { authority, serverCert } = pki.running;
      const tls = { cert: serverCert.certPem, key: serverCert.keyPem, ca: authority.certPem };
      const limits = { maxFrameBytes: hubConfig.maxFrameBytes };
      const guards = { handshakeTimeoutMs: hubConfig.handshakeTimeoutSeconds * 1000, connectionLimits: hubConfig.connectionLimits };
      logger.info(
        { maxFrameBytes: limits.maxFrameBytes, ...guards, inbound: hubConfig.inbound },
        'hub limits: per-IP connections, handshake timeout, per-node inbound rate, in-flight and bad frames',
      );
      const opened: Partial<Record<TransportKind, HubListener>> = {};
      try {
        if (hubConfig.websocket.enable) {
          opened.websocket = await listenHub('websocket', { host: hubConfig.websocket.address, port: hubConfig.websocket.port, tls, limits, ...guards });
        }
        if (hubConfig.quic.enable) {
          if (await isQuicAvailable()) {
            opened.quic = await listenHub('quic', { host: hubConfig.quic.address, port: hubConfig.quic.port, tls, limits, ...guards });
          } else {
            logger.error('QUIC is enabled in the config but its native module cannot load on this machine; serving WebSocket only');
          }
        }
        if (hubConfig.webtransport.enable) {
          opened.webtransport = await listenHub('webtransport', { host: hubConfig.webtransport.address, port: hubConfig.webtransport.port, tls, limits, ...guards });
        }
      } catch (error) {
        for (const listener of Object.values(opened)) await listener.close();
        throw error;
      }
      for (const listener of Object.values(opened)) hub.attach(listener);
      return opened;
    },
    stop: () => hub.close(),
    health: () => ({ ok: true, details: { nodes: hub.listSessions().length } }),
  });

  const metrics = config.metrics.enable
    ? metricsModule({
        address: config.metrics.address,
        port: config.metrics.port,
        allowRemote: config.metrics.allowRemote,
        registry,
        modulesHealth: health,
        routes: { '/debug/nodes': () => hub.listSessions() },
      })
    : undefined;

  const list: Module[] = [kubeApi, pki, revocations, ...controllers, ...(certificateServer ? [certificateServer] : []), listeners, ...(metrics ? [metrics] : [])];
  return { list, kubeApi, pki, certificateServer, listeners, metrics };
}

/** The CA and the server certificate, from files or the Secret pki.store chooses. */
function pkiModule(config: CloudCoreConfig, kubeApi: DefinedModule<KubeApiConnection>, logger: Logger) {
  const { cloudHub: hubConfig } = config;
  return defineModule({
    name: 'pki',
    dependsOn: ['kube-api'],
    start: async () => {
      const choice = choosePkiStore(config, kubeApi.running, logger);
      logger.info({ store: choice.kind, location: choice.store.location, reason: choice.reason }, 'certificate store chosen');
      if (choice.kind === 'file') {
        // the CA key mints node identities and join tokens: owner only, also over an older version's 0755/0644
        const pkiDir = choice.store.location;
        securePrivatePaths(
          { directories: [config.dataDir, pkiDir], files: [CA_KEY_FILE, SERVER_KEY_FILE, JOIN_TOKENS_FILE, KUBELET_CLIENT_KEY_FILE].map((name) => join(pkiDir, name)) },
          (fields, message) => logger.warn(fields, message),
        );
      }
      const authority = await loadOrCreateAuthority(choice.store);
      const serverCert = await loadOrCreateServerCertificate(choice.store, { dnsNames: hubConfig.dnsNames, ipAddresses: hubConfig.advertiseAddresses });
      logger.info({ store: choice.kind, location: choice.store.location }, 'certificate authority ready');
      return { store: choice.store, authority, serverCert };
    },
  });
}

/** HTTPS on 10002: node certificates against join tokens, counted and logged per result. */
function certificateServerModule(
  config: CloudCoreConfig,
  {
    pki,
    kubeApi,
    hub,
    revocations,
    webSocketPort,
    apis,
  }: {
    pki: ReturnType<typeof pkiModule>;
    kubeApi: DefinedModule<KubeApiConnection>;
    hub: CloudHub;
    revocations: DefinedModule<CertificateRevocation>;
    /** read per request: the hub listens after the certificate server starts */
    webSocketPort: () => number | undefined;
    apis: readonly HttpsApi[];
  },
  logger: Logger,
  registry: Registry,
) {
  const { cloudHub: hubConfig } = config;
  const certificateEvents = new Counter({
    name: 'kedge_certificate_requests_total',
    help: 'Node certificate requests at the certificate server, by result',
    labelNames: ['result', 'reason'],
    registers: [registry],
  });
  const gatewayDownloads = new Counter({
    name: 'kedge_gateway_downloads_total',
    help: 'install.sh and gateway bundle downloads from the certificate port, by path',
    labelNames: ['path'],
    registers: [registry],
  });
  const logThrottle = new LogThrottle();
  return defineModule({
    name: 'certificate-server',
    dependsOn: ['pki', 'kube-api', 'revocation'],
    start: async () => {
      const bundleDir = hubConfig.https.bundleDir;
      const gatewayBundles = bundleDir === undefined ? undefined : await loadGatewayBundles(bundleDir);
      if (gatewayBundles === undefined) {
        logger.info('no gateway bundles: /install.sh and /bundles/ answer 404 (set cloudHub.https.bundleDir, see docs/deploy.md)');
      } else {
        logger.info(
          {
            bundleDir,
            installScript: gatewayBundles.installScript !== undefined,
            bundles: [...gatewayBundles.bundles.values()].map(({ name, sha256, bytes }) => ({ name, sha256, bytes })),
            skipped: gatewayBundles.skipped,
          },
          'gateway bundles served on the certificate port',
        );
        if (gatewayBundles.installScript === undefined) logger.warn({ bundleDir }, 'cloudHub.https.bundleDir holds no install.sh: /install.sh answers 404');
      }
      return startCertificateServer({
        host: hubConfig.https.address,
        port: hubConfig.https.port,
        authority: pki.running.authority,
        serverCert: pki.running.serverCert,
        ledger: new JoinTokenLedger(pki.running.store),
        nodeExists: nodeExistsCheck({ kubeConfig: kubeApi.running.kubeConfig, hasSession: (nodeName) => hub.isConnected(nodeName) }),
        nodeCertValidityDays: hubConfig.nodeCertificateValidityDays,
        revocations: () => revocations.running.fresh(),
        handshakeTimeoutMs: hubConfig.handshakeTimeoutSeconds * 1000,
        connectionLimits: hubConfig.connectionLimits,
        ...(gatewayBundles === undefined ? {} : { gatewayBundles }),
        installScriptAddress: { hosts: [...hubConfig.advertiseAddresses, ...hubConfig.dnsNames], webSocketPort },
        apis,
        onEvent: (event) => {
          if (event.type === 'served') {
            const path = event.path.startsWith('/bundles/kedge-gateway-') ? '/bundles/<bundle>' : event.path;
            gatewayDownloads.inc({ path });
            logger.info({ path: event.path, bytes: event.bytes, remoteAddress: event.remoteAddress }, 'gateway installer file served');
          } else if (event.type === 'issued') {
            certificateEvents.inc({ result: 'issued', reason: event.via });
            logger.info({ nodeName: event.nodeName, via: event.via, serial: event.serialNumber }, 'node certificate issued');
          } else {
            certificateEvents.inc({ result: 'refused', reason: event.reason });
            // a flood is refused by the thousand: one line per source and reason every few seconds
            logThrottle.run(`${event.reason}:${event.remoteAddress}`, (suppressed) =>
              logger.warn(
                { nodeName: event.nodeName, reason: event.reason, remoteAddress: event.remoteAddress, message: event.message, suppressed },
                'node certificate refused',
              ),
            );
          }
        },
      });
    },
    stop: (server) => server.close(),
  });
}

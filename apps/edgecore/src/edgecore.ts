// Composes a running edgecore as a list of modules built from its config: the node certificate
// (bootstrap with the join token on first start), MetaManager on its SQLite store, devices, streams,
// EdgeHub over the configured transport, pods on containerd, node status, MetaServer, certificate
// rotation and the metrics endpoint. The ModuleRunner starts them in dependency order and stops them in reverse.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeletQueryHandler, KubeletQueryMetrics, NodeStatusReporter, ResourceStatsProvider, ResourceUsageMetrics, ServiceAccountTokens, type PodApiAccess } from '@kedge/edged';
import type { CriClient } from '@kedge/cri';
import type { EdgeCoreConfig } from '@kedge/edgecore-config';
import { EdgeHub, EdgeHubMetrics } from '@kedge/edgehub';
import { HubPodApiCloud, MetaManager, MetaStore } from '@kedge/metamanager';
import { defineModule, metricsModule, ModuleRunner, type Module } from '@kedge/modules';
import { MessageRouter } from '@kedge/router';
import { securePrivatePaths } from '@kedge/sqlite';
import { createMetricsRegistry, processMemory, type Logger } from '@kedge/telemetry';
import { dialHub, isQuicAvailable, type TransportKind } from '@kedge/transport';
import { bootstrapNodeCertificate, scheduleRotation } from './certificates';
import type { RunningDevices } from './devices';
import { loadedFeatures, loadFeature } from './features';
import type { RunningPods } from './pods';
import { x509InHelper } from './startup-helper';

/** what edgecore reports as its kubelet version in Node.status.nodeInfo */
export const KUBELET_VERSION = 'v1.32.0-kedge';

export interface RunningEdgeCore {
  readonly hub: EdgeHub;
  readonly router: MessageRouter;
  readonly modules: ModuleRunner;
  stop(): Promise<void>;
}

export class MissingJoinTokenError extends Error {
  override readonly name = 'MissingJoinTokenError';
  constructor(pkiDir: string) {
    super(
      `no node certificate in ${pkiDir} and no join token: run \`kedgeadm token create --node <name>\` on the cloud side, ` +
        'write the token to a root-only file and start edgecore once with --token-file <file> (or edgeHub.tokenFile, or --token - on stdin)',
    );
  }
}

// what the pods and devices modules hold when their feature is off: no code of theirs is loaded
const PODS_OFF: RunningPods = { runtimeVersion: undefined, cri: undefined, stop: async () => undefined };
const DEVICES_OFF: RunningDevices = { mqttPort: undefined, stop: async () => undefined };

const sqliteFiles = (file: string): string[] => [file, `${file}-wal`, `${file}-shm`];

/** Builds edgecore's modules and starts them; a failure names the module (ModuleStartError). */
/**
 * `token` is needed on the first start only (or to join again when the stored certificate expired or
 * the token names another CA); when the node already has its files, a token that cannot be read (a
 * token file deleted after the join) is not an error.
 */
export async function startEdgeCore(
  config: EdgeCoreConfig,
  token: string | undefined | (() => string | undefined),
  logger: Logger,
): Promise<RunningEdgeCore> {
  const { edgeHub: hubConfig, nodeName } = config;
  const pkiDir = join(config.dataDir, 'pki');
  const files = { ca: join(pkiDir, 'ca.crt'), cert: join(pkiDir, 'node.crt'), key: join(pkiDir, 'node.key') };
  // the data dir holds every Secret synced to this node and the node's key: owner only, also when an
  // older version or an admin left it open (pods/ is edged's and keeps its own modes)
  securePrivatePaths(
    {
      directories: [config.dataDir, pkiDir],
      files: [files.key, ...sqliteFiles(join(config.dataDir, 'edgecore.db')), ...sqliteFiles(join(config.dataDir, 'devicetwin.db')), join(config.dataDir, 'mappers.json')],
    },
    (fields, message) => logger.warn(fields, message),
  );
  const registry = createMetricsRegistry();
  const router = new MessageRouter({
    onHandlerError: (error, message) =>
      logger.error({ error: String(error), group: message.route.group, resource: message.route.resource }, 'module failed on a message'),
  });

  // the edgehub module settles the transport (QUIC may not load here) before the first dial
  let transport: TransportKind = hubConfig.protocol;
  const limits = { maxFrameBytes: hubConfig.maxFrameBytes };
  const handshakeTimeoutMs = 15_000;
  // read the files at every dial, so a rotated certificate is used from the next connection on
  const tls = () => ({ cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8'), ca: readFileSync(files.ca, 'utf8') });
  const dial = () =>
    transport === 'websocket'
      ? dialHub('websocket', {
          url: `wss://${hubConfig.server}/${hubConfig.projectId}/${nodeName}/events`,
          tls: tls(),
          nodeName,
          projectId: hubConfig.projectId,
          limits,
          handshakeTimeoutMs,
        })
      : transport === 'webtransport'
        ? dialHub('webtransport', { url: `https://${hubConfig.webTransportServer}`, tls: tls(), nodeName, limits, handshakeTimeoutMs })
        : dialHub('quic', { url: `quic://${hubConfig.quicServer}`, tls: tls(), nodeName, limits, handshakeTimeoutMs });
  const hub = new EdgeHub({
    nodeName,
    dial,
    router,
    logger: logger.child({ module: 'edgehub' }),
    metrics: new EdgeHubMetrics(registry),
    heartbeatMs: hubConfig.heartbeatSeconds * 1000,
    backoff: { initialDelayMs: hubConfig.reconnect.initialDelayMs, maxDelayMs: hubConfig.reconnect.maxDelayMs },
  });

  const certificate = defineModule({
    name: 'node-certificate',
    start: async () => {
      const alreadyJoined = existsSync(files.cert) && existsSync(files.key) && existsSync(files.ca);
      let joinToken: string | undefined;
      try {
        joinToken = typeof token === 'function' ? token() : token;
      } catch (error) {
        if (!alreadyJoined) throw error;
        logger.info({ error: (error as Error).message }, 'no join token readable; using the stored node certificate');
      }
      if (!alreadyJoined && !joinToken) throw new MissingJoinTokenError(pkiDir);
      await bootstrapNodeCertificate({ serverUrl: hubConfig.httpServer, token: joinToken ?? '', nodeName, dir: pkiDir, x509: x509InHelper });
      if (!alreadyJoined) logger.info({ nodeName, pkiDir }, 'node certificate obtained');
    },
  });

  // the store and the module that fills it exist before the first connect, so the first inventory
  // already describes what is on disk
  const meta = defineModule({
    name: 'metamanager',
    start: () => {
      const store = new MetaStore({ file: join(config.dataDir, 'edgecore.db'), logger: logger.child({ module: 'metastore' }), registry });
      const metaManager = new MetaManager({ store, router, hub, logger: logger.child({ module: 'metamanager' }), registry, nodeName });
      return { store, metaManager };
    },
    stop: ({ store, metaManager }) => {
      metaManager.stop();
      store.close();
    },
  });

  // the twin owns group `twin` before the first connect, so the first membership list is handled
  const devices = defineModule({
    name: 'devices',
    dependsOn: ['metamanager'],
    start: async () => {
      if (!config.eventBus.enable) return DEVICES_OFF;
      const { startDevices } = await loadFeature('devices', () => import('./devices'));
      return startDevices(config, { router, hub, metaManager: meta.running.metaManager, logger, registry });
    },
    stop: (running) => running.stop(),
  });

  // kubectl logs/exec/attach/port-forward on the runtime edged uses; nothing to stream to without it
  const streams = config.edged.enable
    ? defineModule({
        name: 'edgestream',
        start: async () => {
          const { startStreams } = await loadFeature('streams', () => import('./streams'));
          return startStreams(config, hub, router, logger.child({ module: 'edgestream' }), registry);
        },
        stop: (running) => running.stop(),
      })
    : undefined;

  // the kubelet's read endpoints for the cloud (stats/summary, metrics/resource, pods) and edgecore's own
  // usage gauges; registered before the first connect so no query finds the group missing. The runtime
  // is the one the pods module opened, once it has (none while pods are off: node figures only).
  const podsRuntime: { cri?: CriClient | undefined } = {};
  const resourceStats = defineModule({
    name: 'resource-stats',
    dependsOn: ['metamanager'],
    start: () => {
      const provider = new ResourceStatsProvider({ runtime: () => podsRuntime.cri, nodeName, logger: logger.child({ module: 'resource-stats' }) });
      new ResourceUsageMetrics(registry, () => provider.summary());
      const { store } = meta.running;
      return new KubeletQueryHandler({
        router,
        send: (message) => hub.send(message),
        summary: () => provider.summary(),
        pods: () => store.list('pod').map((stored) => stored.object).filter((pod) => (pod as { spec?: { nodeName?: string } }).spec?.nodeName === nodeName),
        logger: logger.child({ module: 'kubelet-queries' }),
        metrics: new KubeletQueryMetrics(registry),
      });
    },
    stop: (handler) => handler.close(),
  });

  const edgeHub = defineModule({
    name: 'edgehub',
    dependsOn: ['node-certificate', 'metamanager', 'devices', 'resource-stats', ...(streams ? [streams.name] : [])],
    start: async () => {
      if (transport === 'quic' && !(await isQuicAvailable())) {
        logger.warn('QUIC cannot load on this machine (no native module for this platform); using WebSocket instead');
        transport = 'websocket';
      }
      hub.start();
    },
    stop: () => hub.stop(),
    // a gateway without its cloud is autonomous, not unhealthy
    health: () => ({ ok: true, details: { cloudConnected: hub.connected } }),
  });


  // pods reach the Kubernetes API through MetaServer: tokens, reviews and writes go through the cloud
  const podApiCloud = new HubPodApiCloud(router, hub);
  const metaServer = config.metaServer.enable
    ? defineModule({
        name: 'metaserver',
        dependsOn: ['metamanager'],
        start: async () => {
          const { startEdgeMetaServer } = await loadFeature('metaserver', () => import('./metaserver'));
          return startEdgeMetaServer(config, { store: meta.running.store, podApiCloud, registry, logger: logger.child({ module: 'metaserver' }) });
        },
        stop: ({ server }) => server.close(),
      })
    : undefined;

  const pods = defineModule({
    name: 'pods',
    dependsOn: ['metamanager', ...(metaServer ? [metaServer.name] : [])],
    start: async () => {
      const endpoint = metaServer?.running.server.podEndpoint;
      const apiAccess: PodApiAccess | undefined =
        metaServer !== undefined && endpoint !== undefined
          ? {
              endpoint,
              caPem: metaServer.running.caPem,
              tokens: new ServiceAccountTokens({ issuer: podApiCloud, dir: join(config.dataDir, 'pod-tokens'), logger: logger.child({ module: 'edged' }) }),
            }
          : undefined;
      if (!config.edged.enable) {
        logger.child({ module: 'edged' }).info('pods are off (edged.enable: false)');
        return PODS_OFF;
      }
      const { startPods } = await loadFeature('pods', () => import('./pods'));
      const running = await startPods(config, meta.running.store, meta.running.metaManager, logger.child({ module: 'edged' }), registry, apiAccess);
      podsRuntime.cri = running.cri;
      return running;
    },
    stop: (running) => {
      podsRuntime.cri = undefined;
      return running.stop();
    },
  });

  // after pods, so the Node is registered with the runtime's version
  const nodeStatus = defineModule({
    name: 'node-status',
    dependsOn: ['metamanager', 'pods'],
    start: () => {
      const runtimeVersion = pods.running.runtimeVersion;
      const reporter = new NodeStatusReporter({
        nodeName,
        labels: config.labels,
        kubeletVersion: KUBELET_VERSION,
        ...(runtimeVersion === undefined ? {} : { containerRuntimeVersion: runtimeVersion }),
        reporter: meta.running.metaManager,
        logger: logger.child({ module: 'edged' }),
        leaseRenewSeconds: config.nodeStatus.leaseRenewSeconds,
        statusUpdateSeconds: config.nodeStatus.statusUpdateSeconds,
        // the Node the cloud last sent down: a restart keeps Ready's lastTransitionTime
        storedNode: () => meta.running.store.get('node', undefined, nodeName)?.object,
      });
      reporter.start();
      return reporter;
    },
    stop: (reporter) => reporter.stop(),
  });

  const rotation = defineModule({
    name: 'certificate-rotation',
    dependsOn: ['node-certificate', 'edgehub'],
    start: () =>
      scheduleRotation({
        serverUrl: hubConfig.httpServer,
        dir: pkiDir,
        nodeName,
        x509: x509InHelper,
        onRotated: () => {
          logger.info('node certificate rotated; reconnecting with the new one');
          void hub.reconnect();
        },
        onError: (error: Error) => logger.error({ error: error.message }, 'certificate rotation failed; will retry'),
      }),
    stop: (schedule) => schedule.stop(),
  });

  const metrics = config.metrics.enable
    ? metricsModule({
        address: config.metrics.address,
        port: config.metrics.port,
        allowRemote: config.metrics.allowRemote,
        registry,
        modulesHealth: () => runner.health(),
        details: () => ({ cloudConnected: hub.connected }),
        // where the gateway's megabytes are: kernel RSS next to V8's heap spaces, code and external memory
        routes: { '/debug/memory': () => ({ ...processMemory(), features: loadedFeatures() }) },
      })
    : undefined;

  const modules: Module[] = [certificate, meta, devices, ...(streams ? [streams] : []), resourceStats, edgeHub, ...(metaServer ? [metaServer] : []), pods, nodeStatus, rotation, ...(metrics ? [metrics] : [])];
  const runner = new ModuleRunner({ modules, logger });
  await runner.start();
  logger.info(
    {
      nodeName,
      transport,
      ports: { metrics: metrics?.running.port, metaServer: metaServer?.running.port, mqtt: devices.running.mqttPort },
      // where pods reach the Kubernetes API (KUBERNETES_SERVICE_HOST/PORT)
      podApiEndpoint: metaServer?.running.server.podEndpoint,
      // kubectl --kubeconfig <this> get pods -A, as root on the gateway
      metaServerKubeconfig: metaServer?.running.kubeconfig,
      objects: Object.fromEntries(meta.running.store.countByType()),
      modules: runner.order,
    },
    'edgecore ready',
  );
  return { hub, router, modules: runner, stop: () => runner.stop() };
}

// Composes a running edgecore: node certificate (bootstrap with the join token on first start),
// EdgeHub over the configured transport, the router for edge modules, pods on containerd, and the metrics endpoint.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NodeStatusReporter } from '@kedge/edged';
import { EdgeHub, EdgeHubMetrics } from '@kedge/edgehub';
import { MetaManager, MetaStore, startMetaServer, type MetaServer } from '@kedge/metamanager';
import { MessageRouter } from '@kedge/router';
import { createMetricsRegistry, startMetricsServer, type Logger, type MetricsServer } from '@kedge/telemetry';
import { dialHub, isQuicAvailable, type TransportKind } from '@kedge/transport';
import { bootstrapNodeCertificate, scheduleRotation } from './certificates';
import type { EdgeCoreConfig } from '@kedge/edgecore-config';
import { startDevices } from './devices';
import { startPods } from './pods';
import { startStreams } from './streams';

/** what edgecore reports as its kubelet version in Node.status.nodeInfo */
export const KUBELET_VERSION = 'v1.32.0-kedge';

export interface RunningEdgeCore {
  readonly hub: EdgeHub;
  readonly router: MessageRouter;
  close(): Promise<void>;
}

export class MissingJoinTokenError extends Error {
  override readonly name = 'MissingJoinTokenError';
  constructor(pkiDir: string) {
    super(
      `no node certificate in ${pkiDir} and no join token: run \`kedgeadm token\` on the cloud side and start ` +
        'edgecore with --token <token> (or KEDGE_JOIN_TOKEN) once',
    );
  }
}

export async function startEdgeCore(config: EdgeCoreConfig, token: string | undefined, logger: Logger): Promise<RunningEdgeCore> {
  const { edgeHub: hubConfig, nodeName } = config;
  const pkiDir = join(config.dataDir, 'pki');
  const files = { ca: join(pkiDir, 'ca.crt'), cert: join(pkiDir, 'node.crt'), key: join(pkiDir, 'node.key') };
  const alreadyJoined = existsSync(files.cert) && existsSync(files.key) && existsSync(files.ca);
  if (!alreadyJoined && !token) throw new MissingJoinTokenError(pkiDir);
  await bootstrapNodeCertificate({ serverUrl: hubConfig.httpServer, token: token ?? '', nodeName, dir: pkiDir });
  if (!alreadyJoined) logger.info({ nodeName, pkiDir }, 'node certificate obtained');

  let kind: TransportKind = hubConfig.protocol;
  if (kind === 'quic' && !(await isQuicAvailable())) {
    logger.warn('QUIC cannot load on this machine (no native module for this platform); using WebSocket instead');
    kind = 'websocket';
  }
  const limits = { maxFrameBytes: hubConfig.maxFrameBytes };
  const handshakeTimeoutMs = 15_000;
  // read the files at every dial, so a rotated certificate is used from the next connection on
  const tls = () => ({ cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8'), ca: readFileSync(files.ca, 'utf8') });
  const dial = () =>
    kind === 'websocket'
      ? dialHub('websocket', {
          url: `wss://${hubConfig.server}/${hubConfig.projectId}/${nodeName}/events`,
          tls: tls(),
          nodeName,
          projectId: hubConfig.projectId,
          limits,
          handshakeTimeoutMs,
        })
      : dialHub('quic', { url: `quic://${hubConfig.quicServer}`, tls: tls(), nodeName, limits, handshakeTimeoutMs });

  const registry = createMetricsRegistry();
  const router = new MessageRouter({
    onHandlerError: (error, message) =>
      logger.error({ error: String(error), group: message.route.group, resource: message.route.resource }, 'module failed on a message'),
  });
  const hub = new EdgeHub({
    nodeName,
    dial,
    router,
    logger: logger.child({ module: 'edgehub' }),
    metrics: new EdgeHubMetrics(registry),
    heartbeatMs: hubConfig.heartbeatSeconds * 1000,
    backoff: { initialDelayMs: hubConfig.reconnect.initialDelayMs, maxDelayMs: hubConfig.reconnect.maxDelayMs },
  });
  // the store and the module that fills it exist before the first connect, so the first inventory
  // already describes what is on disk
  const store = new MetaStore({ file: join(config.dataDir, 'edgecore.db'), logger: logger.child({ module: 'metastore' }) });
  const metaManager = new MetaManager({ store, router, hub, logger: logger.child({ module: 'metamanager' }), registry, nodeName });
  // the twin owns group `twin` before the first connect, so the first membership list is handled
  const devices = await startDevices(config, { router, hub, metaManager, logger, registry });
  const streams = startStreams(config, hub, router, logger.child({ module: 'edgestream' }), registry);
  hub.start();
  // pods before the node status, so the Node is registered with the runtime's version
  const pods = await startPods(config, store, metaManager, logger.child({ module: 'edged' }), registry);
  const nodeStatus = new NodeStatusReporter({
    nodeName,
    labels: config.labels,
    kubeletVersion: KUBELET_VERSION,
    ...(pods.runtimeVersion === undefined ? {} : { containerRuntimeVersion: pods.runtimeVersion }),
    reporter: metaManager,
    logger: logger.child({ module: 'edged' }),
    leaseRenewSeconds: config.nodeStatus.leaseRenewSeconds,
    statusUpdateSeconds: config.nodeStatus.statusUpdateSeconds,
  });
  nodeStatus.start();
  let metaServer: MetaServer | undefined;
  if (config.metaServer.enable) {
    metaServer = await startMetaServer({
      store,
      host: config.metaServer.address,
      port: config.metaServer.port,
      logger: logger.child({ module: 'metaserver' }),
    });
  }

  const rotation = scheduleRotation({
    serverUrl: hubConfig.httpServer,
    dir: pkiDir,
    nodeName,
    onRotated: () => {
      logger.info('node certificate rotated; reconnecting with the new one');
      void hub.reconnect();
    },
    onError: (error: Error) => logger.error({ error: error.message }, 'certificate rotation failed; will retry'),
  });

  let metricsServer: MetricsServer | undefined;
  if (config.metrics.enable) {
    metricsServer = await startMetricsServer({
      host: config.metrics.address,
      port: config.metrics.port,
      registry,
      health: () => ({ ok: true, details: { cloudConnected: hub.connected } }),
    });
  }
  logger.info(
    { nodeName, transport: kind, ports: { metrics: metricsServer?.port, metaServer: metaServer?.port, mqtt: devices.mqttPort }, objects: Object.fromEntries(store.countByType()) },
    'edgecore ready',
  );

  return {
    hub,
    router,
    async close() {
      rotation.stop();
      nodeStatus.stop();
      streams.stop();
      await pods.stop();
      await metaServer?.close();
      await devices.stop();
      metaManager.stop();
      await hub.stop();
      store.close();
      await metricsServer?.close();
    },
  };
}

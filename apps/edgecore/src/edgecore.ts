// Composes a running edgecore: node certificate (bootstrap with the join token on first start),
// EdgeHub over the configured transport, the router for edge modules, and the metrics endpoint.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeHub, EdgeHubMetrics } from '@kedge/edgehub';
import { MessageRouter } from '@kedge/router';
import { createMetricsRegistry, startMetricsServer, type Logger, type MetricsServer } from '@kedge/telemetry';
import { dialHub, isQuicAvailable, type TransportKind } from '@kedge/transport';
import { bootstrapNodeCertificate, scheduleRotation } from './certificates';
import type { EdgeCoreConfig } from './config/edgecore-config';

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
  hub.start();

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
  logger.info({ nodeName, transport: kind, ports: { metrics: metricsServer?.port } }, 'edgecore ready');

  return {
    hub,
    router,
    async close() {
      rotation.stop();
      await hub.stop();
      await metricsServer?.close();
    },
  };
}

// Starts edged's pods when the container runtime answers (loaded by edgecore only when edged.enable is on). A gateway without containerd still runs
// edgecore (devices, metadata, node status): pods are then off, and the log says why and what to do.
import { join } from 'node:path';
import { connectCri, type CriClient } from '@kedge/cri';
import { ImageGarbageCollector, ImageGcMetrics, PodSecurityMetrics, PodWorkers, primaryHostIP, type PodApiAccess, type StatusReporter } from '@kedge/edged';
import type { MetaStore } from '@kedge/metamanager';
import type { Logger } from '@kedge/telemetry';
import type { Registry } from 'prom-client';
import type { EdgeCoreConfig } from '@kedge/edgecore-config';
import { containerRuntimeSocket } from '@kedge/edgecore-config/container-runtime';

export interface RunningPods {
  /** e.g. containerd://1.6.20; undefined when pods are off */
  runtimeVersion: string | undefined;
  /** the runtime's client while pods are on, for resource stats */
  cri: CriClient | undefined;
  stop(): Promise<void>;
}

// the Version call is the probe; a missing socket fails at once, a hung runtime within this deadline
const RUNTIME_PROBE_TIMEOUT_MS = 3_000;

export async function startPods(config: EdgeCoreConfig, store: MetaStore, reporter: StatusReporter, logger: Logger, registry?: Registry, apiAccess?: PodApiAccess): Promise<RunningPods> {
  const off: RunningPods = { runtimeVersion: undefined, cri: undefined, stop: async () => undefined };
  const socket = containerRuntimeSocket(config);
  const probe = connectCri(socket, { timeoutMs: RUNTIME_PROBE_TIMEOUT_MS });
  let runtimeVersion: string;
  try {
    const version = await probe.version();
    runtimeVersion = `${version.runtimeName}://${version.runtimeVersion}`;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    logger.error({ socket }, `pods are off: containerd at ${socket} does not answer: ${reason}; start containerd or set edged.enable: false`);
    return off;
  } finally {
    probe.close();
  }
  const cri = connectCri(socket);
  const security = config.edged.podSecurity;
  // weaker than the default is the operator's choice, said once at every start
  if (security.allowPrivileged) logger.warn('edged.podSecurity.allowPrivileged is on: privileged pods, hostPID/hostIPC, any capability and seccomp Unconfined are allowed on this node');
  if (security.allowHostNetwork) logger.warn("edged.podSecurity.allowHostNetwork is on: hostNetwork pods share this gateway's network and reach its loopback services");
  if (security.allowedHostPaths.length > 0) logger.info({ allowedHostPaths: security.allowedHostPaths }, 'hostPath volumes are allowed below these directories');
  const workers = new PodWorkers({
    cri,
    store,
    reporter,
    logger,
    nodeName: config.nodeName,
    podsDir: config.edged.podsDir ?? join(config.dataDir, 'pods'),
    hostIP: primaryHostIP(),
    ...(config.edged.restartBackoffBaseMs === undefined ? {} : { restartBackoffBaseMs: config.edged.restartBackoffBaseMs }),
    security,
    ...(registry === undefined ? {} : { metrics: new PodSecurityMetrics(registry) }),
    ...(apiAccess === undefined ? {} : { apiAccess }),
  });
  await workers.start();
  const imageGC = startImageGC(config, cri, reporter, logger, registry);
  logger.info({ socket, runtimeVersion, pods: workers.podCount, imageGC: imageGC?.policy ?? 'off', kubernetesApi: apiAccess?.endpoint ?? 'off' }, 'pods are on');
  return {
    runtimeVersion,
    cri,
    async stop() {
      await imageGC?.stop();
      // containers stay running: an edgecore restart must not restart the pods
      await workers.stop();
      cri.close();
    },
  };
}

function startImageGC(config: EdgeCoreConfig, cri: CriClient, reporter: StatusReporter, logger: Logger, registry: Registry | undefined): ImageGarbageCollector | undefined {
  const { enable, ...policy } = config.edged.imageGC;
  if (!enable) return undefined;
  const imageGC = new ImageGarbageCollector({
    cri,
    logger: logger.child({ component: 'image-gc' }),
    nodeName: config.nodeName,
    policy,
    reporter,
    ...(config.edged.sandboxImage === undefined ? {} : { sandboxImage: config.edged.sandboxImage }),
    ...(registry === undefined ? {} : { metrics: new ImageGcMetrics(registry) }),
  });
  // start() never throws: a runtime that stops answering is logged and retried every period
  void imageGC.start();
  return imageGC;
}

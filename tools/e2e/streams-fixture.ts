// In-process cloud and edge for the stream tests: the embedded API server + CloudHub + cloudstream,
// an EdgeHub dialing it with a real node certificate + edgestream, and a REAL private containerd
// running a busybox container labelled as edged labels pod containers. Everything is stopped by pid/handle.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer, type ApiServer } from '@kedge/apiserver';
import { CloudHub, CloudHubMetrics } from '@kedge/cloudhub';
import { CloudStream } from '@kedge/cloudstream';
import { connectCri, type ContainerConfig, type CriClient, type PodSandboxConfig } from '@kedge/cri';
import { EdgeHub, EdgeHubMetrics } from '@kedge/edgehub';
import { EdgeStream } from '@kedge/edgestream';
import { MessageRouter } from '@kedge/router';
import { createLogger, createMetricsRegistry } from '@kedge/telemetry';
import { createTestPki } from '@kedge/testkit';
import { dialHub, listenHub } from '@kedge/transport';
import { BUSYBOX_IMAGE, importKedgeImages, type PrivateContainerd, startPrivateContainerd } from '@kedge/containerd-fixture';

export const NODE = 'edge-streams';
export const POD = 'chatty';
export const CONTAINER = 'app';

export interface ExtraContainer {
  name: string;
  command: string[];
  stdin?: boolean;
  tty?: boolean;
}

export interface RunningPod {
  sandboxId: string;
  /** the pod's IP on the CNI bridge; '' on the node's network */
  ip: string;
  containerIds: Record<string, string>;
}

export interface StreamsWorld {
  apiServer: ApiServer;
  cloudStream: CloudStream;
  edgeStream: EdgeStream;
  cri: CriClient;
  containerId: string;
  /** runs another pod on the private containerd as edged would (labels, log directory); removed by stop() */
  runPod(name: string, network: 'NODE' | 'POD', containers: ExtraContainer[]): Promise<RunningPod>;
  stop(): Promise<void>;
}

export const APP_SCRIPT = 'echo line-one; echo line-two; echo oops >&2; while true; do if [ -f /tmp/go ]; then echo new-line; rm /tmp/go; fi; sleep 0.2; done';

export async function startStreamsWorld(): Promise<StreamsWorld> {
  const stops: Array<() => Promise<unknown> | unknown> = [];
  const stop = async (): Promise<void> => {
    for (const step of stops.reverse()) await Promise.resolve(step()).catch(() => undefined);
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), 'kst-'));
    stops.push(() => rm(dir, { recursive: true, force: true }));
    const logger = createLogger({ name: 'streams-test', level: process.env.KEDGE_TEST_LOG === 'debug' ? 'debug' : 'silent' });

    const containerd: PrivateContainerd = await startPrivateContainerd(join(dir, 'ctd'));
    stops.push(() => containerd.stop());
    await importKedgeImages(containerd.socketPath, containerd.paths.imageCacheDir);
    const cri = connectCri(containerd.socketPath, { timeoutMs: 15_000 });
    stops.push(() => cri.close());
    const sandbox: PodSandboxConfig = {
      metadata: { name: POD, uid: `uid-${POD}`, namespace: 'default' },
      logDirectory: join(dir, 'pods', `default_${POD}_uid-${POD}`),
      labels: { 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.pod.name': POD },
      linux: { securityContext: { namespaceOptions: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
    };
    const sandboxId = await cri.runPodSandbox(sandbox);
    stops.push(() => cri.removePodSandbox(sandboxId));
    const config: ContainerConfig = {
      metadata: { name: CONTAINER },
      image: BUSYBOX_IMAGE,
      command: ['sh', '-c', APP_SCRIPT],
      logPath: `${CONTAINER}/0.log`,
      labels: { 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.pod.name': POD, 'io.kubernetes.container.name': CONTAINER },
    };
    const containerId = await cri.createContainer(sandboxId, config, sandbox);
    await cri.startContainer(containerId);

    const apiServer = await startApiServer({ dataDir: join(dir, 'api'), port: 0, logger });
    stops.push(() => apiServer.close());
    const pki = await createTestPki();
    const cloudRouter = new MessageRouter({ onHandlerError: () => undefined });
    stops.push(() => cloudRouter.close());
    const hub = new CloudHub({ router: cloudRouter, logger, metrics: new CloudHubMetrics(createMetricsRegistry({ defaultMetrics: false })) });
    stops.push(() => hub.close());
    const listener = await listenHub('websocket', { host: '127.0.0.1', port: 0, tls: pki.server });
    hub.attach(listener);
    const cloudStream = new CloudStream({ hub, router: cloudRouter, logger, ackEveryBytes: 1024, windowBytes: 4096 });
    stops.push(() => cloudStream.close());
    stops.push(apiServer.registerPodStreamHandler(cloudStream));

    const tls = await pki.node(NODE);
    const edgeRouter = new MessageRouter({ onHandlerError: () => undefined });
    stops.push(() => edgeRouter.close());
    const edgeHub = new EdgeHub({
      nodeName: NODE,
      dial: () => dialHub('websocket', { url: `wss://127.0.0.1:${listener.port}`, tls, nodeName: NODE, handshakeTimeoutMs: 10_000 }),
      router: edgeRouter,
      logger,
      metrics: new EdgeHubMetrics(createMetricsRegistry({ defaultMetrics: false })),
    });
    const edgeStream = new EdgeStream({ send: (m) => edgeHub.send(m), router: edgeRouter, cri, logger });
    stops.push(() => edgeStream.close());
    edgeHub.start();
    stops.push(() => edgeHub.stop());
    const deadline = Date.now() + 15_000;
    while (!hub.isConnected(NODE)) {
      if (Date.now() > deadline) throw new Error('the edge did not connect');
      await new Promise((r) => setTimeout(r, 50));
    }
    const runPod = async (name: string, network: 'NODE' | 'POD', containers: ExtraContainer[]): Promise<RunningPod> => {
      const podLabels = { 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.pod.name': name };
      const podSandbox: PodSandboxConfig = {
        metadata: { name, uid: `uid-${name}`, namespace: 'default' },
        logDirectory: join(dir, 'pods', `default_${name}_uid-${name}`),
        labels: podLabels,
        linux: { securityContext: { namespaceOptions: { network, pid: 'CONTAINER', ipc: 'POD' } } },
      };
      const podSandboxId = await cri.runPodSandbox(podSandbox);
      stops.push(() => cri.removePodSandbox(podSandboxId));
      const containerIds: Record<string, string> = {};
      for (const container of containers) {
        const id = await cri.createContainer(
          podSandboxId,
          {
            metadata: { name: container.name },
            image: BUSYBOX_IMAGE,
            command: container.command,
            stdin: container.stdin ?? false,
            tty: container.tty ?? false,
            logPath: `${container.name}/0.log`,
            labels: { ...podLabels, 'io.kubernetes.container.name': container.name },
          },
          podSandbox,
        );
        await cri.startContainer(id);
        containerIds[container.name] = id;
      }
      const status = await cri.podSandboxStatus(podSandboxId);
      return { sandboxId: podSandboxId, ip: status.ip, containerIds };
    };
    return { apiServer, cloudStream, edgeStream, cri, containerId, runPod, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export function podManifest(name: string, nodeName: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { nodeName, containers: [{ name: CONTAINER, image: BUSYBOX_IMAGE }] },
  });
}

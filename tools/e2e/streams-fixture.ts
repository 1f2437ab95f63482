// In-process cloud and edge for the stream tests, on the one path a real cluster uses: the embedded API
// server dials the Node's address and kubelet port with a kubelet-client certificate, which land on the
// kubelet API cloudcore serves (KubeletApiServer) in front of cloudstream + CloudHub; an EdgeHub dials the
// hub with a real node certificate + edgestream, and a REAL private containerd runs a busybox container
// labelled as edged labels pod containers. Everything is stopped by pid/handle.
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer, type ApiServer } from '@kedge/apiserver';
import { CloudHub, CloudHubMetrics } from '@kedge/cloudhub';
import { CloudStream, KubeletApiServer, clusterAuthBackend, type KubeletPod } from '@kedge/cloudstream';
import { KubeJson } from '@kedge/kube-client';
import { issueClientCertificate, issueServerCertificate } from '@kedge/pki';
import { KubeConfig } from '@kubernetes/client-node';
import { connectCri, type ContainerConfig, type CriClient, type PodSandboxConfig } from '@kedge/cri';
import { EdgeHub, EdgeHubMetrics } from '@kedge/edgehub';
import { EdgeStream } from '@kedge/edgestream';
import { MessageRouter } from '@kedge/router';
import { createLogger, createMetricsRegistry } from '@kedge/telemetry';
import { createTestPki, type TestPki } from '@kedge/testkit';
import { dialHub, listenHub } from '@kedge/transport';
import { BUSYBOX_IMAGE, importKedgeImages, type PrivateContainerd, startPrivateContainerd } from '@kedge/containerd-fixture';

export const NODE = 'edge-streams';
export const POD = 'chatty';
export const CONTAINER = 'app';
/** a registered node with no hub session */
export const GHOST_NODE = 'ghost-node';

/** A write to the embedded API server as its admin (a Node and its status, as the edge controller writes them). */
async function fetchJson(apiServer: ApiServer, method: string, path: string, body: unknown): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = request(
      `${apiServer.url}${path}`,
      {
        method,
        ca: apiServer.caCertPem,
        headers: {
          authorization: `Bearer ${apiServer.adminToken}`,
          'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
          'content-length': Buffer.byteLength(text),
        },
      },
      (response) => {
        let answer = '';
        response.on('data', (chunk: Buffer) => (answer += chunk.toString()));
        response.on('end', () => ((response.statusCode ?? 0) < 300 ? resolve() : reject(new Error(`${method} ${path}: ${response.statusCode} ${answer}`))));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

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
  kubeletApi: KubeletApiServer;
  edgeStream: EdgeStream;
  /** a Node whose addresses point at its kubelet API port, as cloudcore's edge controller writes it */
  registerNode(name: string): Promise<number>;
  /** the cloud CA (with key) the hub, the node and the kubelet API certificates come from */
  pki: TestPki;
  /** ends the edge's hub session, as a lost link does */
  disconnectEdge(): void;
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

    const pki = await createTestPki();
    const kubeletClient = await issueClientCertificate(pki.authority, { commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'] });
    const apiServer = await startApiServer({
      dataDir: join(dir, 'api'),
      port: 0,
      logger,
      kubeletClient: { clientCertPem: kubeletClient.certPem, clientKeyPem: kubeletClient.keyPem, caPem: pki.ca },
    });
    stops.push(() => apiServer.close());
    const cloudRouter = new MessageRouter({ onHandlerError: () => undefined });
    stops.push(() => cloudRouter.close());
    const hub = new CloudHub({ router: cloudRouter, logger, metrics: new CloudHubMetrics(createMetricsRegistry({ defaultMetrics: false })) });
    stops.push(() => hub.close());
    const listener = await listenHub('websocket', { host: '127.0.0.1', port: 0, tls: pki.server });
    hub.attach(listener);
    const cloudStream = new CloudStream({ hub, router: cloudRouter, logger, ackEveryBytes: 1024, windowBytes: 4096 });
    stops.push(() => cloudStream.close());
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(apiServer.adminKubeconfigPath);
    const json = new KubeJson(kubeConfig);
    const kubeletApi = new KubeletApiServer({
      streams: cloudStream,
      hasSession: (node) => hub.isConnected(node),
      findPod: async (namespace, name) => {
        try {
          return (await json.get(`/api/v1/namespaces/${namespace}/pods/${name}`)) as KubeletPod;
        } catch {
          return undefined;
        }
      },
      auth: clusterAuthBackend(kubeConfig),
      clientCaPem: pki.ca,
      servingCertificate: await issueServerCertificate(pki.authority, { commonName: 'kedge-kubelet-api', ipAddresses: ['127.0.0.1'] }),
      advertiseAddress: '127.0.0.1',
      bindAddress: '127.0.0.1',
      // a range of its own per world: parallel test files share the machine
      portRangeStart: 20_000 + Math.floor(Math.random() * 40_000),
      portRangeSize: 100,
      logger,
    });
    stops.push(() => kubeletApi.close());
    const registerNode = async (name: string): Promise<number> => {
      const port = await kubeletApi.allocate(name);
      await fetchJson(apiServer, 'POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name } });
      await fetchJson(apiServer, 'PATCH', `/api/v1/nodes/${name}/status`, {
        status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: name }], daemonEndpoints: { kubeletEndpoint: { Port: port } } },
      });
      return port;
    };
    await registerNode(NODE);
    // a node that connected once and is gone now: its kubelet API answers 503
    await registerNode(GHOST_NODE);

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
    return { apiServer, cloudStream, kubeletApi, edgeStream, registerNode, pki, disconnectEdge: () => void edgeHub.stop(), cri, containerId, runPod, stop };
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

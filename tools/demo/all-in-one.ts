// The main job on one machine: cloudcore (embedded API server), a join token, one edgecore connected to it,
// a private containerd for pods when this machine can run one, a simulated device and a demo pod.
// State lives in .kedge/all-in-one, or KEDGE_STATE_DIR (kept between runs, so the CA and the node
// certificate survive). Ports come from KEDGE_WS_PORT, KEDGE_HTTPS_PORT, KEDGE_METRICS_PORT (0 = any free).
// Ctrl-C stops edgecore, cloudcore, and the pods' containerd last.
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, stopAll, waitFor } from '../e2e/harness';
import { isNodeConnected, issueToken, startCloudCore, startEdgeCore, type CloudCoreHandle, type EdgeCoreHandle } from '../e2e/cluster';
import { DEMO_DEVICE, applyDemoObjects, startPodsRuntime, type PodsRuntime } from './demo-extras';

const stateDir = process.env.KEDGE_STATE_DIR ?? join(repoRoot, '.kedge', 'all-in-one');
const nodeName = process.env.KEDGE_NODE_NAME ?? 'demo-gateway';
const protocol = process.env.KEDGE_HUB_PROTOCOL === 'quic' ? 'quic' : 'websocket';

function step(text: string): void {
  process.stdout.write(`• ${text}\n`);
}

function keepLog(handle: { process: { child: { stdout: NodeJS.ReadableStream | null; stderr: NodeJS.ReadableStream | null } } }, file: string): void {
  const out = createWriteStream(file, { flags: 'a' });
  handle.process.child.stdout?.pipe(out);
  handle.process.child.stderr?.pipe(out);
}

// what runs so far: Ctrl-C (even half way through start-up) stops exactly these, in this order
const running: { edge?: EdgeCoreHandle; cloud?: CloudCoreHandle; pods?: PodsRuntime } = {};
let stopping = false;

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (running.edge) {
    step('stopping edgecore');
    await running.edge.process.stop('SIGTERM');
  }
  if (running.cloud) {
    step('stopping cloudcore');
    await running.cloud.process.stop('SIGTERM');
  }
  // a child still starting when Ctrl-C came is not in `running` yet
  await stopAll();
  if (running.pods?.on) {
    step('stopping containerd (removing the pods)');
    await running.pods.containerd.stop().catch((error: unknown) => process.stderr.write(`containerd stop: ${(error as Error).message}\n`));
  }
  step('stopped');
  process.exit(code);
}

async function main(): Promise<void> {
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  mkdirSync(join(stateDir, 'cloud'), { recursive: true, mode: 0o700 });
  mkdirSync(join(stateDir, 'edge'), { recursive: true, mode: 0o700 });
  const ports = {
    websocket: Number(process.env.KEDGE_WS_PORT ?? 10000),
    quic: Number(process.env.KEDGE_QUIC_PORT ?? 10001),
    https: Number(process.env.KEDGE_HTTPS_PORT ?? 10002),
    metrics: Number(process.env.KEDGE_METRICS_PORT ?? 9091),
  };
  step('starting a private containerd for pods (libs/testing/containerd-fixture)');
  const pods = await startPodsRuntime(stateDir);
  running.pods = pods;
  if (!pods.on) step(`pods are off: ${pods.reason}`);
  step(`starting cloudcore (state in ${stateDir}/cloud)`);
  const cloud: CloudCoreHandle = await startCloudCore({ dataDir: join(stateDir, 'cloud'), ports, quic: protocol === 'quic' });
  running.cloud = cloud;
  keepLog(cloud, join(stateDir, 'cloudcore.log'));
  step(`creating a join token with kedgeadm token create --node ${nodeName} (valid 1h, this node only)`);
  const token = await issueToken(cloud, ['--node', nodeName]);
  step(`starting edgecore as node "${nodeName}" over ${protocol}`);
  const edge: EdgeCoreHandle = startEdgeCore(cloud, {
    nodeName,
    token,
    protocol,
    dataDir: join(stateDir, 'edge'),
    heartbeatSeconds: 15,
    maxReconnectDelayMs: 30_000,
    metaServerPort: Number(process.env.KEDGE_METASERVER_PORT ?? 10550),
    // where pods reach the Kubernetes API (KUBERNETES_SERVICE_PORT): fixed, so pods keep working across restarts
    metaServerPodPort: Number(process.env.KEDGE_METASERVER_POD_PORT ?? 10551),
    ...(pods.on ? { edged: { containerRuntimeEndpoint: `unix://${pods.containerd.socketPath}`, podsDir: join(stateDir, 'edge', 'pods') } } : {}),
  });
  running.edge = edge;
  keepLog(edge, join(stateDir, 'edgecore.log'));
  await waitFor(() => cloud.process.logs.some(isNodeConnected(nodeName)), 'the edge to connect', {
    timeoutMs: 120_000,
    onTimeout: () => `${cloud.process.describe()}\n${edge.process.describe()}`,
  });
  const edgeReady = await edge.process.waitForLog((l) => l.msg === 'edgecore ready', 'edgecore ready');
  const metaServerKubeconfig = String(edgeReady.metaServerKubeconfig);
  const mqttPort = (edgeReady.ports as { mqtt?: number }).mqtt;
  step(`applying the DeviceModel and Device "${DEMO_DEVICE}"${pods.on ? ' and the demo pod' : ''} with kubectl`);
  await applyDemoObjects(cloud.kubeconfig, nodeName, pods.on);
  // edgecore runs the virtual device's mapper itself, from the membership the cloud sends
  process.stdout.write(`
kedge all-in-one is up
  cloudcore  pid ${cloud.process.pid}   WebSocket :${cloud.ports.websocket}  certificates https://127.0.0.1:${cloud.ports.https}
  edgecore   pid ${edge.process.pid}   node ${nodeName}, connected over ${protocol}
  containerd ${pods.on ? `pid ${pods.containerd.pid}   ${pods.containerd.socketPath}` : `off (${pods.reason})`}
  kubeconfig ${cloud.kubeconfig}
  kubectl    kubectl --kubeconfig ${cloud.kubeconfig} get nodes,pods,devices
  device     kubectl --kubeconfig ${cloud.kubeconfig} get device ${DEMO_DEVICE} -o jsonpath='{.status.twins}'
  MQTT       mosquitto_sub -h 127.0.0.1 -p ${mqttPort ?? '?'} -t '$hw/events/device/#' -v
  pod logs   ${pods.on ? `kubectl --kubeconfig ${cloud.kubeconfig} logs demo-ticker` : 'none: pods are off'}
  on the gateway (works offline too): kubectl --kubeconfig ${metaServerKubeconfig} get pods -A
  sessions   curl -s http://127.0.0.1:${cloud.ports.metrics}/debug/nodes
  metrics    curl -s http://127.0.0.1:${cloud.ports.metrics}/metrics | grep kedge_
  logs       ${stateDir}/cloudcore.log, ${stateDir}/edgecore.log
Ctrl-C stops everything.
`);
  // a child that dies on its own takes the demo down with a clear message
  for (const proc of [cloud.process, edge.process]) {
    void proc.waitForExit().then((code) => {
      if (stopping) return;
      process.stderr.write(`${proc.name} exited unexpectedly (code ${code}); see ${stateDir}/${proc.name}.log\n`);
      void stop(1);
    });
  }
}

main().catch((error: unknown) => {
  if (stopping) return; // Ctrl-C during start-up: the children it waited for were stopped on purpose
  process.stderr.write(`all-in-one failed: ${(error as Error).message}\n`);
  void stop(1);
});

// The main job on one machine: cloudcore (embedded API server), a join token, one edgecore connected to it,
// a private containerd for pods when this machine can run one, a simulated device and a demo pod.
// State lives in .kedge/all-in-one, or KEDGE_STATE_DIR (kept between runs, so the CA and the node
// certificate survive). Ports come from KEDGE_WS_PORT, KEDGE_HTTPS_PORT, KEDGE_METRICS_PORT and
// KEDGE_APISERVER_PORT (default 6443, as K3s, so the kubeconfig stays the same across restarts; 0 = any free).
// A child that exits on its own is restarted with backoff (child-supervisor.ts); pods keep running.
// Ctrl-C stops edgecore, cloudcore, and the pods' containerd last.
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { repoRoot, stopAll, waitFor } from '../e2e/harness';
import { isNodeConnected, issueToken, startCloudCore, startEdgeCore, type CloudCoreHandle, type EdgeCoreHandle, type EdgeCoreSettings } from '../e2e/cluster';
import { ChildSupervisor } from './child-supervisor';
import { DEMO_DEVICE, applyDemoObjects, startPodsRuntime, type PodsRuntime } from './demo-extras';

const stateDir = process.env.KEDGE_STATE_DIR ?? join(repoRoot, '.kedge', 'all-in-one');
const nodeName = process.env.KEDGE_NODE_NAME ?? 'demo-gateway';
const HUB_PROTOCOLS = ['websocket', 'quic', 'webtransport'] as const;
const requestedProtocol = process.env.KEDGE_HUB_PROTOCOL || 'websocket';
if (!(HUB_PROTOCOLS as readonly string[]).includes(requestedProtocol)) {
  process.stderr.write(`KEDGE_HUB_PROTOCOL=${JSON.stringify(requestedProtocol)}: expected one of ${HUB_PROTOCOLS.join(', ')}\n`);
  process.exit(2);
}
const protocol = requestedProtocol as (typeof HUB_PROTOCOLS)[number];

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
const supervisors: ChildSupervisor<unknown>[] = [];
let stopping = false;

/** A fixed port another program holds is a clear error naming what to change, before anything starts. */
async function ensurePortFree(port: number, variable: string, what: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `port ${port} (${what}) is already in use by another program (an earlier all-in-one, K3s?); stop it, or set ${variable} to a free port`
            : `cannot listen on port ${port} (${what}): ${error.message}; set ${variable} to another port`,
        ),
      ),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/** The embedded API server's port, from the admin kubeconfig cloudcore wrote (it picks one when asked for 0). */
function apiserverPortOf(kubeconfig: string): number {
  const server = /server:\s*https?:\/\/[^:\s]+:(\d+)/.exec(readFileSync(kubeconfig, 'utf8'))?.[1];
  if (server === undefined) throw new Error(`no API server address in ${kubeconfig}`);
  return Number(server);
}

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const supervisor of supervisors) supervisor.stop();
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
    webtransport: Number(process.env.KEDGE_WEBTRANSPORT_PORT ?? 10003),
    https: Number(process.env.KEDGE_HTTPS_PORT ?? 10002),
    metrics: Number(process.env.KEDGE_METRICS_PORT ?? 9091),
  };
  const apiserverPort = Number(process.env.KEDGE_APISERVER_PORT ?? 6443);
  await ensurePortFree(apiserverPort, 'KEDGE_APISERVER_PORT', 'the embedded API server');
  await ensurePortFree(ports.websocket, 'KEDGE_WS_PORT', 'the cloud hub');
  await ensurePortFree(ports.https, 'KEDGE_HTTPS_PORT', 'the certificate server');
  if (protocol === 'webtransport') await ensurePortFree(ports.webtransport, 'KEDGE_WEBTRANSPORT_PORT', 'the WebTransport hub');
  await ensurePortFree(ports.metrics, 'KEDGE_METRICS_PORT', "cloudcore's metrics");
  step('starting a private containerd for pods (libs/testing/containerd-fixture)');
  const pods = await startPodsRuntime(stateDir);
  running.pods = pods;
  if (!pods.on) step(`pods are off: ${pods.reason}`);
  step(`starting cloudcore (state in ${stateDir}/cloud)`);
  const cloud: CloudCoreHandle = await startCloudCore({ dataDir: join(stateDir, 'cloud'), ports, apiserverPort, quic: protocol === 'quic', webtransport: protocol === 'webtransport' });
  running.cloud = cloud;
  keepLog(cloud, join(stateDir, 'cloudcore.log'));
  step(`creating a join token with kedgeadm token create --node ${nodeName} (valid 1h, this node only)`);
  const token = await issueToken(cloud, ['--node', nodeName]);
  step(`starting edgecore as node "${nodeName}" over ${protocol}`);
  const edgeSettings: EdgeCoreSettings = {
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
  };
  const edge: EdgeCoreHandle = startEdgeCore(cloud, edgeSettings);
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
  superviseChildren(cloud, edge, edgeSettings);
}

/**
 * A child that dies on its own is restarted where it was (the same ports, data and node), as a
 * gateway's service manager would; the other one and the pods keep running meanwhile.
 */
function superviseChildren(cloud: CloudCoreHandle, edge: EdgeCoreHandle, edgeSettings: EdgeCoreSettings): void {
  const giveUp = (name: string) => (message: string) => {
    process.stderr.write(`${message}; see ${stateDir}/${name}.log\n`);
    void stop(1);
  };
  const report = (text: string) => step(text);
  // restarts come back on the ports the first start got (the edge dials them; they may have been 0 = any)
  const cloudSettings = {
    dataDir: cloud.dataDir,
    ports: { ...cloud.ports, quic: cloud.ports.quic ?? 0, webtransport: cloud.ports.webtransport ?? 0 },
    apiserverPort: apiserverPortOf(cloud.kubeconfig),
    quic: protocol === 'quic',
    webtransport: protocol === 'webtransport',
  };
  const cloudSupervisor = new ChildSupervisor<CloudCoreHandle>({
    name: 'cloudcore',
    start: () => startCloudCore(cloudSettings),
    processOf: (handle) => handle.process,
    onStarted: (handle) => {
      running.cloud = handle;
      keepLog(handle, join(stateDir, 'cloudcore.log'));
    },
    report,
    onGiveUp: giveUp('cloudcore'),
  });
  const edgeSupervisor = new ChildSupervisor<EdgeCoreHandle>({
    name: 'edgecore',
    start: async () => {
      const handle = startEdgeCore(running.cloud ?? cloud, edgeSettings);
      await handle.process.waitForLog((l) => l.msg === 'edgecore ready', 'edgecore ready');
      return handle;
    },
    processOf: (handle) => handle.process,
    onStarted: (handle) => {
      running.edge = handle;
      keepLog(handle, join(stateDir, 'edgecore.log'));
    },
    report,
    onGiveUp: giveUp('edgecore'),
  });
  supervisors.push(cloudSupervisor as ChildSupervisor<unknown>, edgeSupervisor as ChildSupervisor<unknown>);
  cloudSupervisor.watch(cloud);
  edgeSupervisor.watch(edge);
}

main().catch((error: unknown) => {
  if (stopping) return; // Ctrl-C during start-up: the children it waited for were stopped on purpose
  process.stderr.write(`all-in-one failed: ${(error as Error).message}\n`);
  void stop(1);
});

// The main job on one machine: cloudcore, a join token, and one edgecore connected to it.
// State lives in .kedge/all-in-one, or KEDGE_STATE_DIR (kept between runs, so the CA and the node
// certificate survive). Ports come from KEDGE_WS_PORT, KEDGE_HTTPS_PORT, KEDGE_METRICS_PORT (0 = any free).
// Ctrl-C stops edgecore first, then cloudcore.
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, waitFor } from '../e2e/harness';
import { isNodeConnected, issueToken, startCloudCore, startEdgeCore, type CloudCoreHandle, type EdgeCoreHandle } from '../e2e/cluster';

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

async function main(): Promise<void> {
  mkdirSync(join(stateDir, 'cloud'), { recursive: true });
  mkdirSync(join(stateDir, 'edge'), { recursive: true });
  const ports = {
    websocket: Number(process.env.KEDGE_WS_PORT ?? 10000),
    quic: Number(process.env.KEDGE_QUIC_PORT ?? 10001),
    https: Number(process.env.KEDGE_HTTPS_PORT ?? 10002),
    metrics: Number(process.env.KEDGE_METRICS_PORT ?? 9091),
  };
  step(`starting cloudcore (state in ${stateDir}/cloud)`);
  const cloud: CloudCoreHandle = await startCloudCore({ dataDir: join(stateDir, 'cloud'), ports, quic: protocol === 'quic' });
  keepLog(cloud, join(stateDir, 'cloudcore.log'));
  step('issuing a join token with kedgeadm token --ttl 1h');
  const token = await issueToken(cloud, ['--ttl', '1h', '--node', nodeName]);
  step(`starting edgecore as node "${nodeName}" over ${protocol}`);
  const edge: EdgeCoreHandle = startEdgeCore(cloud, {
    nodeName,
    token,
    protocol,
    dataDir: join(stateDir, 'edge'),
    heartbeatSeconds: 15,
    maxReconnectDelayMs: 30_000,
    metaServerPort: Number(process.env.KEDGE_METASERVER_PORT ?? 10550),
  });
  keepLog(edge, join(stateDir, 'edgecore.log'));
  await waitFor(() => cloud.process.logs.some(isNodeConnected(nodeName)), 'the edge to connect', {
    timeoutMs: 120_000,
    onTimeout: () => `${cloud.process.describe()}\n${edge.process.describe()}`,
  });
  const edgeReady = await edge.process.waitForLog((l) => l.msg === 'edgecore ready', 'edgecore ready');
  const metaServerPort = (edgeReady.ports as { metaServer?: number }).metaServer;
  process.stdout.write(`
kedge all-in-one is up
  cloudcore  pid ${cloud.process.pid}   WebSocket :${cloud.ports.websocket}  certificates https://127.0.0.1:${cloud.ports.https}
  edgecore   pid ${edge.process.pid}   node ${nodeName}, connected over ${protocol}
  kubectl    kubectl --kubeconfig ${cloud.kubeconfig} get nodes,pods -A
  on the gateway (works offline too): kubectl --server http://127.0.0.1:${metaServerPort} get pods -A
  sessions   curl -s http://127.0.0.1:${cloud.ports.metrics}/debug/nodes
  metrics    curl -s http://127.0.0.1:${cloud.ports.metrics}/metrics | grep kedge_
  logs       ${stateDir}/cloudcore.log, ${stateDir}/edgecore.log
Ctrl-C stops everything.
`);
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    step('stopping edgecore');
    await edge.process.stop('SIGTERM');
    step('stopping cloudcore');
    await cloud.process.stop('SIGTERM');
    step('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  // a child that dies on its own takes the demo down with a clear message
  for (const proc of [cloud.process, edge.process]) {
    void proc.waitForExit().then((code) => {
      if (stopping) return;
      process.stderr.write(`${proc.name} exited unexpectedly (code ${code}); see ${stateDir}/${proc.name}.log\n`);
      void stop();
    });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`all-in-one failed: ${(error as Error).message}\n`);
  process.exit(1);
});

// Pods on a real edge: a private containerd (libs/testing/containerd-fixture), a cloudcore child process and one edgecore
// child process with edged. Measures edgecore's resident memory idle and with 20 pods, the time from a pod's
// create (2xx from the API server) to `status.phase == Running` in the API server, and the same 20 pods
// started directly through CRI (runPodSandbox + createContainer + startContainer) as the raw baseline.
// Writes the `pods` section of docs/benchmarks.md.
//
//   node --import tsx tools/bench/pods.ts [--pods 20] [--dry-run]
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { connectCri, type ContainerConfig, type CriClient, type PodSandboxConfig } from '@kedge/cri';
import { BUSYBOX_IMAGE, importKedgeImages, isContainerdAvailable, type PrivateContainerd, removeAllPodSandboxes, startPrivateContainerd, stopPrivateContainerd } from '@kedge/containerd-fixture';
import { issueToken, writeTokenFile } from '../e2e/cluster';
import { startApp, writeYaml, type KedgeProcess } from '../e2e/harness';
import {
  benchTempDir,
  formatBytes,
  formatMs,
  formatRatio,
  loopbackCloudCoreConfig,
  machineInfo,
  mapLimit,
  markdownTable,
  parseBenchFlags,
  positiveInteger,
  progress,
  repoRoot,
  residentBytes,
  runBenchmark,
  sectionHeading,
  sleep,
  startCloudCoreProcess,
  stopAllCloudCores,
  summarizeLatencies,
  textTable,
  writeBenchmarkSection,
  type CloudCoreProcess,
  type LatencySummary,
} from './bench-kit';

const SECTION = 'pods';
const NODE = 'bench-edge';
const NAMESPACE = 'default';
/** KubeEdge's advertised memory footprint of its edge part (edgecore). */
const KUBEEDGE_ADVERTISED_MB = 70;
const SETTLE_MS = 5_000;
const POLL_MS = 100;

const flags = parseBenchFlags(import.meta.filename, { pods: { type: 'string', default: '20' } });
const POD_COUNT = positiveInteger('pods', flags.pods);

let containerdDir: string | undefined;
let edge: KedgeProcess | undefined;
let cloud: CloudCoreProcess | undefined;
let shuttingDown: Promise<void> | undefined;

async function shutdown(): Promise<void> {
  shuttingDown ??= (async () => {
    await edge?.stop('SIGTERM', 10_000);
    await cloud?.stop(5_000);
    await stopAllCloudCores(2_000);
    if (containerdDir) {
      const report = await stopPrivateContainerd(containerdDir);
      if (report.pid !== undefined) progress(`stopped containerd pid ${report.pid}; removed ${report.removedSandboxes.length} sandbox(es)`);
    }
  })();
  return shuttingDown;
}

async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

function rawSandbox(name: string, logRoot: string): PodSandboxConfig {
  const uid = `raw-${name}`;
  return {
    metadata: { name, uid, namespace: 'raw', attempt: 0 },
    hostname: name,
    logDirectory: join(logRoot, uid),
    labels: { 'kedge.bench/raw': 'true' },
    linux: { securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
  };
}

const rawContainer: ContainerConfig = { metadata: { name: 'app', attempt: 0 }, image: BUSYBOX_IMAGE, command: ['sleep', '3600'], logPath: 'app/0.log' };

/** One pod straight through CRI; ms from RunPodSandbox sent to StartContainer answered (the container runs). */
async function rawPod(cri: CriClient, name: string, logRoot: string): Promise<number> {
  const started = performance.now();
  const sandbox = rawSandbox(name, logRoot);
  const sandboxId = await cri.runPodSandbox(sandbox);
  const containerId = await cri.createContainer(sandboxId, rawContainer, sandbox);
  await cri.startContainer(containerId);
  return performance.now() - started;
}

function podBody(name: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NAMESPACE },
    spec: {
      nodeName: NODE,
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'app', image: BUSYBOX_IMAGE, imagePullPolicy: 'Never', command: ['sleep', '3600'] }],
    },
  };
}

interface Results {
  idleRss: number;
  loadedRss: number;
  kedge: LatencySummary & { totalMs: number };
  raw: LatencySummary & { totalMs: number };
}

async function main(): Promise<void> {
  const availability = await isContainerdAvailable();
  if (!availability.available) throw new Error(`cannot run a private containerd: ${availability.reason}`);
  const machine = machineInfo();
  const command = `node --import tsx tools/bench/pods.ts${POD_COUNT !== 20 ? ` --pods ${POD_COUNT}` : ''}`;

  // short: containerd's socket path must fit in 108 bytes
  const workDir = benchTempDir('kbp-');
  containerdDir = join(workDir, 'ctd');
  progress(`starting a private containerd in ${containerdDir}`);
  // own subnet and bridge, so a test suite's private containerd may run at the same time
  const containerd: PrivateContainerd = await startPrivateContainerd(containerdDir, { podSubnet: '10.88.213.0/24', bridgeName: 'kedge-cni-pb' });
  await importKedgeImages(containerd.socketPath, containerd.paths.imageCacheDir);

  // --- raw baseline: the same pods straight through CRI, before edgecore runs (edged would GC them)
  const cri = connectCri(containerd.socketPath, { timeoutMs: 60_000 });
  const rawLogs = join(workDir, 'raw-logs');
  let raw: Results['raw'];
  try {
    progress('raw CRI: one warm-up pod (not counted)');
    await rawPod(cri, 'warmup', rawLogs);
    await removeAllPodSandboxes(containerd.socketPath);
    progress(`raw CRI: ${POD_COUNT} pods at once`);
    const rawStarted = performance.now();
    const rawTimes = await mapLimit(
      Array.from({ length: POD_COUNT }, (_, i) => `raw-${i}`),
      POD_COUNT,
      (name) => rawPod(cri, name, rawLogs),
    );
    raw = { ...summarizeLatencies(rawTimes), totalMs: performance.now() - rawStarted };
    const listed = await cri.listContainers();
    const running = listed.filter((c) => c.state === 'CONTAINER_RUNNING').length;
    if (running !== POD_COUNT) throw new Error(`raw CRI: ${running} of ${POD_COUNT} containers running`);
  } finally {
    cri.close();
  }
  const removed = await removeAllPodSandboxes(containerd.socketPath);
  progress(`raw CRI: p50 ${formatMs(raw.p50)}, max ${formatMs(raw.max)}; removed ${removed.length} sandboxes`);

  // --- cloudcore + edgecore with edged
  const cloudDir = join(workDir, 'cloud');
  await mkdir(cloudDir);
  cloud = await startCloudCoreProcess({
    repoRoot,
    dataDir: cloudDir,
    config: loopbackCloudCoreConfig({}, { kubeAPI: { embedded: { address: '127.0.0.1', port: 0 } } }),
  });
  if (!cloud.kubeconfig || !cloud.ports.websocket || !cloud.ports.https) throw new Error('cloudcore reported no kubeconfig or hub ports');
  progress(`cloudcore pid ${cloud.pid} ready`);
  const edgeDir = join(workDir, 'edge');
  await mkdir(edgeDir);
  const edgeConfig = writeYaml(join(edgeDir, 'edgecore.yaml'), {
    nodeName: NODE,
    dataDir: edgeDir,
    edgeHub: { protocol: 'websocket', server: `127.0.0.1:${cloud.ports.websocket}`, httpServer: `https://127.0.0.1:${cloud.ports.https}` },
    metrics: { address: '127.0.0.1', port: 0 },
    metaServer: { address: '127.0.0.1', port: 0, podAccess: { port: 0 } },
    eventBus: { internal: { address: '127.0.0.1', port: 0 } },
    edged: { enable: true, containerRuntimeEndpoint: `unix://${containerd.socketPath}` },
    log: { level: 'info' },
  });
  edge = startApp('edgecore', ['--config', edgeConfig, '--token-file', writeTokenFile(edgeDir, await issueToken(cloud, ['--node', NODE]))]);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cloud.kubeconfig);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  await waitUntil(
    async () => {
      const node = await core.readNode({ name: NODE }).catch(() => undefined);
      return node !== undefined;
    },
    'the edge node registered',
    60_000,
  );
  progress(`edgecore pid ${edge.pid} connected; settling ${SETTLE_MS / 1000} s`);
  await sleep(SETTLE_MS);
  const idleRss = residentBytes(edge.pid);
  progress(`edgecore idle RSS ${formatBytes(idleRss)}`);

  // --- 20 pods through the API server
  const names = Array.from({ length: POD_COUNT }, (_, i) => `bench-${i}`);
  const createdAt = new Map<string, number>();
  const runningAt = new Map<string, number>();
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const list = await core.listNamespacedPod({ namespace: NAMESPACE }).catch(() => undefined);
      const now = performance.now();
      for (const pod of list?.items ?? []) {
        const name = pod.metadata?.name ?? '';
        if (pod.status?.phase === 'Running' && createdAt.has(name) && !runningAt.has(name)) runningAt.set(name, now);
      }
      if (runningAt.size === POD_COUNT) return;
      await sleep(POLL_MS);
    }
  })();
  progress(`creating ${POD_COUNT} pods on ${NODE}`);
  const kedgeStarted = performance.now();
  await mapLimit(names, POD_COUNT, async (name) => {
    await core.createNamespacedPod({ namespace: NAMESPACE, body: podBody(name) });
    createdAt.set(name, performance.now());
  });
  try {
    await waitUntil(() => runningAt.size === POD_COUNT, `${POD_COUNT} pods Running (${runningAt.size} so far)`, 120_000);
  } finally {
    polling = false;
    await poller;
  }
  const kedgeTimes = names.map((name) => (runningAt.get(name) as number) - (createdAt.get(name) as number));
  const kedge = { ...summarizeLatencies(kedgeTimes), totalMs: Math.max(...runningAt.values()) - kedgeStarted };
  progress(`kedge: p50 ${formatMs(kedge.p50)}, max ${formatMs(kedge.max)}; settling ${SETTLE_MS / 1000} s`);
  await sleep(SETTLE_MS);
  const loadedRss = residentBytes(edge.pid);
  progress(`edgecore RSS with ${POD_COUNT} pods ${formatBytes(loadedRss)}`);

  report({ idleRss, loadedRss, kedge, raw }, machine, command);
}

function report(results: Results, machine: ReturnType<typeof machineInfo>, command: string): void {
  const { kedge, raw } = results;
  const latencyHeaders = ['path', 'pods', 'p50', 'p99', 'max', 'total (first create → last running)'];
  const latencyRows = [
    ['kedge: API create 2xx → phase Running in the API server', String(kedge.count), formatMs(kedge.p50), formatMs(kedge.p99), formatMs(kedge.max), formatMs(kedge.totalMs)],
    ['raw CRI: RunPodSandbox → StartContainer answered', String(raw.count), formatMs(raw.p50), formatMs(raw.p99), formatMs(raw.max), formatMs(raw.totalMs)],
    ['ratio kedge / raw', '', formatRatio(kedge.p50 / raw.p50), formatRatio(kedge.p99 / raw.p99), formatRatio(kedge.max / raw.max), formatRatio(kedge.totalMs / raw.totalMs)],
  ];
  const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB (${formatBytes(bytes)})`;
  const memoryHeaders = ['edgecore', 'resident memory (VmRSS)'];
  const memoryRows = [
    ['idle, connected, no pods', mb(results.idleRss)],
    [`${POD_COUNT} pods running`, mb(results.loadedRss)],
    ['KubeEdge edgecore, as advertised', `about ${KUBEEDGE_ADVERTISED_MB} MB`],
  ];
  process.stdout.write(`\n${textTable(latencyHeaders, latencyRows)}\n\n${textTable(memoryHeaders, memoryRows)}\n`);

  const body = [
    ...sectionHeading('Pods: create → Running on a real edge, and edgecore memory', machine, command),
    '**Setup.** A private containerd (`libs/testing/containerd-fixture`, runc, CNI bridge, the offline `localhost/kedge/busybox:1`',
    'and `localhost/kedge/pause:1` images already imported), a cloudcore child process (embedded API server,',
    'CloudHub on WebSocket, EdgeController) and one edgecore child process (EdgeHub, MetaManager, MetaServer,',
    'edged on that containerd), both under tsx at log level info, all on this machine.',
    '',
    `**Method.** ${POD_COUNT} pods (busybox \`sleep 3600\`, \`spec.nodeName\` = the edge) are created at once through the API`,
    "(`@kubernetes/client-node`); a pod's time runs from its create's 2xx response to the first poll (one pod",
    `list every ${POLL_MS} ms) that shows \`status.phase == Running\` in the API server, so it includes the trip down to`,
    "the edge, sandbox and container start on containerd, and edged's status report back up, plus up to",
    `${POLL_MS} ms of polling. *Raw CRI* is the baseline in the same run, on the same containerd, before edgecore starts:`,
    `the same ${POD_COUNT} pods started at once by the benchmark itself through \`@kedge/cri\` (RunPodSandbox, CreateContainer,`,
    'StartContainer; one uncounted warm-up pod first), each timed from sending RunPodSandbox to StartContainer',
    "answered. Memory is edgecore's VmRSS (`/proc/<pid>/status`; the Node.js process under tsx, containerd and",
    `the shims not included) after ${SETTLE_MS / 1000} s of settling, idle and with the pods running.`,
    '',
    markdownTable(latencyHeaders, latencyRows),
    '',
    markdownTable(memoryHeaders, memoryRows),
    '',
    `KubeEdge advertises about ${KUBEEDGE_ADVERTISED_MB} MB for its edge part (a Go binary); kedge's edgecore is a Node.js`,
    'process run through tsx (TypeScript compiled in memory), which adds to its resident memory.',
  ].join('\n');
  writeBenchmarkSection(SECTION, body, flags['dry-run']);
}

runBenchmark('pods benchmark', main, { shutdown, stopping: 'stopping edgecore, cloudcore and containerd' });

// Pods on a real edge: a private containerd (libs/testing/containerd-fixture), a cloudcore child process and one edgecore
// child process with edged. Measures the time from a pod's create (2xx from the API server) to
// `status.phase == Running` seen on a watch of the API server, and the same pods started directly through CRI
// (RunPodSandbox + CreateContainer + StartContainer) as the raw baseline, in alternating rounds on the same
// containerd with edgecore running. containerd's own timestamps (sandbox and container created, container started)
// split each pod's time into stages. Writes the `pods` section of docs/benchmarks.md; edgecore's memory is
// tools/bench/edgecore-memory.ts.
//
//   node --import tsx tools/bench/pods.ts [--pods 20] [--rounds 3] [--profile <dir>] [--dry-run]
//
// --profile <dir> runs cloudcore and edgecore with --cpu-prof into <dir> (read them with cpu-profile-top.mjs).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, Watch, type V1Pod } from '@kubernetes/client-node';
import { KeepAliveKubeConfig } from '@kedge/kube-client';
import { connectCri, type ContainerConfig, type CriClient, type PodSandboxConfig } from '@kedge/cri';
import { BUSYBOX_IMAGE, importKedgeImages, isContainerdAvailable, type PrivateContainerd, removeAllPodSandboxes, startPrivateContainerd, stopPrivateContainerd } from '@kedge/containerd-fixture';
import { issueToken, writeTokenFile } from '../e2e/cluster';
import { KedgeProcess, startApp, writeYaml } from '../e2e/harness';
import {
  benchTempDir,
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
const SETTLE_MS = 5_000;
/** how long to wait for the pods of one round, or for their removal */
const ROUND_TIMEOUT_MS = 180_000;

const flags = parseBenchFlags(import.meta.filename, { pods: { type: 'string', default: '20' }, rounds: { type: 'string', default: '3' }, profile: { type: 'string' } });
const POD_COUNT = positiveInteger('pods', flags.pods);
const ROUNDS = positiveInteger('rounds', flags.rounds);

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

/** Wall-clock milliseconds with sub-millisecond precision, comparable with containerd's nanosecond timestamps. */
const wallMs = (): number => performance.timeOrigin + performance.now();
const nsToMs = (ns: bigint): number => Number(ns / 1000n) / 1000;

/** CPU milliseconds (user + system) a process has used so far: /proc/<pid>/stat fields 14 and 15, in 10 ms ticks. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The processes whose CPU a round is charged: containerd always, cloudcore and edgecore beside it. */
interface CpuMeter {
  containerd: number;
  cloudcore?: number;
  edgecore?: number;
}

function readCpu(pids: CpuMeter): CpuMeter {
  return {
    containerd: cpuMs(pids.containerd),
    ...(pids.cloudcore !== undefined ? { cloudcore: cpuMs(pids.cloudcore) } : {}),
    ...(pids.edgecore !== undefined ? { edgecore: cpuMs(pids.edgecore) } : {}),
  };
}

function cpuSince(pids: CpuMeter, before: CpuMeter): CpuMeter {
  const after = readCpu(pids);
  return {
    containerd: after.containerd - before.containerd,
    ...(after.cloudcore !== undefined ? { cloudcore: after.cloudcore - (before.cloudcore ?? 0) } : {}),
    ...(after.edgecore !== undefined ? { edgecore: after.edgecore - (before.edgecore ?? 0) } : {}),
  };
}

async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
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

/** One pod's milestones in wall-clock ms: what the client saw (start, done) and what containerd recorded. */
interface PodTimeline {
  /** raw: RunPodSandbox sent; kedge: the create's 2xx */
  start: number;
  sandboxCreated: number;
  containerCreated: number;
  containerStarted: number;
  /** raw: StartContainer answered; kedge: phase Running seen on the watch */
  done: number;
}

/** One pod straight through CRI, RunPodSandbox sent to StartContainer answered (the container runs). */
async function rawPod(cri: CriClient, name: string, logRoot: string): Promise<{ start: number; done: number }> {
  const start = wallMs();
  const sandbox = rawSandbox(name, logRoot);
  const sandboxId = await cri.runPodSandbox(sandbox);
  const containerId = await cri.createContainer(sandboxId, rawContainer, sandbox);
  await cri.startContainer(containerId);
  return { start, done: wallMs() };
}

/** containerd's timestamps of each pod's sandbox and (first) container, by pod name. */
async function runtimeTimestamps(cri: CriClient, namespace: string): Promise<Map<string, Omit<PodTimeline, 'start' | 'done'>>> {
  const sandboxes = (await cri.listPodSandbox()).filter((s) => s.metadata.namespace === namespace);
  const result = new Map<string, Omit<PodTimeline, 'start' | 'done'>>();
  for (const sandbox of sandboxes) {
    const [container] = await cri.listContainers({ podSandboxId: sandbox.id });
    if (container === undefined) throw new Error(`pod ${namespace}/${sandbox.metadata.name} has no container`);
    const status = await cri.containerStatus(container.id);
    result.set(sandbox.metadata.name, {
      sandboxCreated: nsToMs(sandbox.createdAt),
      containerCreated: nsToMs(status.createdAt),
      containerStarted: nsToMs(status.startedAt),
    });
  }
  return result;
}

function withRuntime(names: readonly string[], client: Map<string, { start: number; done: number }>, runtime: Map<string, Omit<PodTimeline, 'start' | 'done'>>): PodTimeline[] {
  return names.map((name) => {
    const seen = client.get(name);
    const stamps = runtime.get(name);
    if (seen === undefined || stamps === undefined) throw new Error(`pod ${name}: no ${seen === undefined ? 'client times' : 'runtime timestamps'}`);
    return { ...seen, ...stamps };
  });
}

interface RoundResult {
  pods: PodTimeline[];
  totalMs: number;
  /** CPU used from the first start to the last pod done, per process */
  cpu: CpuMeter;
}

async function rawRound(cri: CriClient, round: number, logRoot: string, pids: CpuMeter): Promise<RoundResult> {
  const names = Array.from({ length: POD_COUNT }, (_, i) => `raw-${round}-${i}`);
  const cpuBefore = readCpu(pids);
  const started = wallMs();
  const times = await mapLimit(names, POD_COUNT, (name) => rawPod(cri, name, logRoot));
  const totalMs = wallMs() - started;
  const cpu = cpuSince(pids, cpuBefore);
  const client = new Map(names.map((name, i) => [name, times[i] as { start: number; done: number }]));
  const pods = withRuntime(names, client, await runtimeTimestamps(cri, 'raw'));
  const removed = (await cri.listPodSandbox()).filter((s) => s.metadata.namespace === 'raw');
  for (const sandbox of removed) {
    await cri.stopPodSandbox(sandbox.id);
    await cri.removePodSandbox(sandbox.id);
  }
  return { pods, totalMs, cpu };
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

/**
 * Creates the round's pods at once and times each from its create's 2xx to the watch event that first shows it
 * Running; then deletes them and waits until the API server and containerd hold none.
 */
async function kedgeRound(core: CoreV1Api, watch: Watch, cri: CriClient, round: number, pids: CpuMeter): Promise<RoundResult> {
  const names = Array.from({ length: POD_COUNT }, (_, i) => `bench-${round}-${i}`);
  const wanted = new Set(names);
  const createdAt = new Map<string, number>();
  const runningAt = new Map<string, number>();
  let watchError: unknown;
  const list = await core.listNamespacedPod({ namespace: NAMESPACE });
  const aborter = await watch.watch(
    `/api/v1/namespaces/${NAMESPACE}/pods`,
    { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: false },
    (type, pod: V1Pod) => {
      const now = wallMs();
      const name = pod.metadata?.name ?? '';
      if (type !== 'DELETED' && wanted.has(name) && pod.status?.phase === 'Running' && !runningAt.has(name)) runningAt.set(name, now);
    },
    (error: unknown) => {
      if (error !== null && error !== undefined && runningAt.size < POD_COUNT) watchError = error;
    },
  );
  const cpuBefore = readCpu(pids);
  const started = wallMs();
  let cpu: CpuMeter;
  try {
    await mapLimit(names, POD_COUNT, async (name) => {
      await core.createNamespacedPod({ namespace: NAMESPACE, body: podBody(name) });
      createdAt.set(name, wallMs());
    });
    await waitUntil(
      () => {
        if (watchError !== undefined) throw new Error(`the pod watch ended: ${String(watchError)}`);
        return runningAt.size === POD_COUNT;
      },
      `${POD_COUNT} pods Running (${runningAt.size} so far)`,
      ROUND_TIMEOUT_MS,
    );
    cpu = cpuSince(pids, cpuBefore);
  } finally {
    aborter.abort();
  }
  const totalMs = Math.max(...runningAt.values()) - started;
  const client = new Map(names.map((name) => [name, { start: createdAt.get(name) as number, done: runningAt.get(name) as number }]));
  const pods = withRuntime(names, client, await runtimeTimestamps(cri, NAMESPACE));

  await mapLimit(names, POD_COUNT, (name) => core.deleteNamespacedPod({ namespace: NAMESPACE, name, gracePeriodSeconds: 0 }));
  await waitUntil(
    async () => {
      const [left, sandboxes] = await Promise.all([core.listNamespacedPod({ namespace: NAMESPACE }), cri.listPodSandbox()]);
      return left.items.length === 0 && sandboxes.length === 0;
    },
    `round ${round}: the pods removed from the API server and containerd`,
    ROUND_TIMEOUT_MS,
  );
  return { pods, totalMs, cpu };
}

interface PathResult {
  pods: PodTimeline[];
  totals: number[];
  cpu: CpuMeter[];
}

async function main(): Promise<void> {
  const availability = await isContainerdAvailable();
  if (!availability.available) throw new Error(`cannot run a private containerd: ${availability.reason}`);
  const machine = machineInfo();
  const load = loadavg();
  const command = ['node --import tsx tools/bench/pods.ts', ...(POD_COUNT !== 20 ? [`--pods ${POD_COUNT}`] : []), ...(ROUNDS !== 3 ? [`--rounds ${ROUNDS}`] : [])].join(' ');

  // short: containerd's socket path must fit in 108 bytes
  const workDir = benchTempDir('kbp-');
  containerdDir = join(workDir, 'ctd');
  progress(`starting a private containerd in ${containerdDir}`);
  // own subnet and bridge, so a test suite's private containerd may run at the same time
  const containerd: PrivateContainerd = await startPrivateContainerd(containerdDir, { podSubnet: '10.88.213.0/24', bridgeName: 'kedge-cni-pb' });
  await importKedgeImages(containerd.socketPath, containerd.paths.imageCacheDir);
  const cri = connectCri(containerd.socketPath, { timeoutMs: 60_000 });
  const rawLogs = join(workDir, 'raw-logs');
  progress('raw CRI: one warm-up pod (not counted)');
  await rawPod(cri, 'warmup', rawLogs);
  await removeAllPodSandboxes(containerd.socketPath);

  // --- cloudcore + edgecore with edged
  const cloudDir = join(workDir, 'cloud');
  await mkdir(cloudDir);
  const profileDir = flags.profile;
  if (profileDir !== undefined) await mkdir(profileDir, { recursive: true });
  const profileArgs = profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir];
  cloud = await startCloudCoreProcess({
    repoRoot,
    dataDir: cloudDir,
    nodeArgs: profileArgs,
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
  const edgeArgs = ['--config', edgeConfig, '--token-file', writeTokenFile(edgeDir, await issueToken(cloud, ['--node', NODE]))];
  edge =
    profileDir === undefined
      ? startApp('edgecore', edgeArgs)
      : new KedgeProcess('edgecore', spawn(process.execPath, [...profileArgs, '--import', 'tsx', join(repoRoot, 'apps', 'edgecore', 'src', 'main.ts'), ...edgeArgs], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] }));
  if (edge.child.pid === undefined) throw new Error('edgecore did not start');
  // kept-alive connections, as kubectl and client-go keep them: 20 creates must not cost cloudcore 20 TLS handshakes
  const kubeConfig = new KeepAliveKubeConfig();
  kubeConfig.loadFromFile(cloud.kubeconfig);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const watch = new Watch(kubeConfig);
  await waitUntil(async () => (await core.readNode({ name: NODE }).catch(() => undefined)) !== undefined, 'the edge node registered', 60_000);
  progress(`edgecore pid ${edge.pid} connected; settling ${SETTLE_MS / 1000} s`);
  await sleep(SETTLE_MS);

  // --- alternating rounds, so both paths run beside the same idle cloudcore and edgecore
  const raw: PathResult = { pods: [], totals: [], cpu: [] };
  const kedge: PathResult = { pods: [], totals: [], cpu: [] };
  const pids: CpuMeter = { containerd: containerd.pid, cloudcore: cloud.pid, edgecore: edge.child.pid };
  const cpuLine = (cpu: CpuMeter): string =>
    Object.entries(cpu)
      .map(([name, ms]) => `${name} ${formatMs((ms as number) / POD_COUNT)}`)
      .join(', ');
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const rawRun = await rawRound(cri, round, rawLogs, pids);
      raw.pods.push(...rawRun.pods);
      raw.totals.push(rawRun.totalMs);
      raw.cpu.push(rawRun.cpu);
      progress(`round ${round}/${ROUNDS} raw CRI: p50 ${formatMs(summarizeLatencies(rawRun.pods.map(latency)).p50)}, all ${formatMs(rawRun.totalMs)}; CPU per pod: ${cpuLine(rawRun.cpu)}`);
      const kedgeRun = await kedgeRound(core, watch, cri, round, pids);
      kedge.pods.push(...kedgeRun.pods);
      kedge.totals.push(kedgeRun.totalMs);
      kedge.cpu.push(kedgeRun.cpu);
      progress(`round ${round}/${ROUNDS} kedge: p50 ${formatMs(summarizeLatencies(kedgeRun.pods.map(latency)).p50)}, all ${formatMs(kedgeRun.totalMs)}; CPU per pod: ${cpuLine(kedgeRun.cpu)}`);
    }
  } finally {
    cri.close();
    kubeConfig.closeConnections();
  }
  report(raw, kedge, machine, load, command);
}

const latency = (pod: PodTimeline): number => pod.done - pod.start;

/** The stages of one pod, in ms: each from the milestone before it. */
const STAGES: { name: string; raw: string; kedge: string; of: (pod: PodTimeline) => number }[] = [
  {
    name: 'to sandbox created',
    raw: 'RunPodSandbox sent → containerd creates the sandbox',
    kedge: 'create 2xx → EdgeController, hub, MetaManager store, edged → containerd creates the sandbox',
    of: (pod) => pod.sandboxCreated - pod.start,
  },
  { name: 'sandbox → container created', raw: 'RunPodSandbox (network, pause) → CreateContainer', kedge: 'the same, plus edged\'s calls between', of: (pod) => pod.containerCreated - pod.sandboxCreated },
  { name: 'container created → started', raw: 'CreateContainer → task started', kedge: 'the same', of: (pod) => pod.containerStarted - pod.containerCreated },
  {
    name: 'started → done',
    raw: 'StartContainer answered',
    kedge: 'edged sees it running, status report, outbox, hub, EdgeController patch, watch event',
    of: (pod) => pod.done - pod.containerStarted,
  },
];

function report(raw: PathResult, kedge: PathResult, machine: ReturnType<typeof machineInfo>, load: number[], command: string): void {
  const rawLatency = summarizeLatencies(raw.pods.map(latency));
  const kedgeLatency = summarizeLatencies(kedge.pods.map(latency));
  const rawTotal = summarizeLatencies(raw.totals);
  const kedgeTotal = summarizeLatencies(kedge.totals);
  const count = `${ROUNDS} × ${POD_COUNT}`;
  const row = (path: string, s: LatencySummary, total: LatencySummary): string[] => [path, count, formatMs(s.p50), formatMs(s.p99), formatMs(s.max), formatMs(total.p50)];
  const latencyHeaders = ['path', 'pods', 'p50', 'p99', 'max', 'round: first start → last done (median)'];
  const latencyRows = [
    row('kedge: API create 2xx → phase Running on a watch of the API server', kedgeLatency, kedgeTotal),
    row('raw CRI: RunPodSandbox sent → StartContainer answered', rawLatency, rawTotal),
    ['**ratio kedge / raw**', '', `**${formatRatio(kedgeLatency.p50 / rawLatency.p50)}**`, `**${formatRatio(kedgeLatency.p99 / rawLatency.p99)}**`, formatRatio(kedgeLatency.max / rawLatency.max), formatRatio(kedgeTotal.p50 / rawTotal.p50)],
  ];
  const stageHeaders = ['stage (from the milestone before)', 'raw CRI p50', 'kedge p50', 'kedge − raw', 'kedge covers'];
  const stageRows = STAGES.map((stage) => {
    const rawP50 = summarizeLatencies(raw.pods.map(stage.of)).p50;
    const kedgeP50 = summarizeLatencies(kedge.pods.map(stage.of)).p50;
    const difference = kedgeP50 - rawP50;
    return [stage.name, formatMs(rawP50), formatMs(kedgeP50), `${difference < 0 ? '−' : '+'}${formatMs(Math.abs(difference))}`, stage.kedge];
  });
  const perPod = (rounds: CpuMeter[], process: keyof CpuMeter): string => {
    const values = rounds.map((cpu) => cpu[process]).filter((ms): ms is number => ms !== undefined);
    return values.length === 0 ? '' : formatMs(summarizeLatencies(values).p50 / POD_COUNT);
  };
  const cpuHeaders = ['path', 'containerd', 'cloudcore', 'edgecore'];
  const cpuRows = [
    ['kedge', perPod(kedge.cpu, 'containerd'), perPod(kedge.cpu, 'cloudcore'), perPod(kedge.cpu, 'edgecore')],
    ['raw CRI', perPod(raw.cpu, 'containerd'), perPod(raw.cpu, 'cloudcore'), perPod(raw.cpu, 'edgecore')],
  ];
  const plain = (rows: string[][]): string[][] => rows.map((r) => r.map((cell) => cell.replaceAll('**', '')));
  process.stdout.write(
    `\n${textTable(latencyHeaders, plain(latencyRows))}\n\n${textTable(stageHeaders.slice(0, 4), stageRows.map((r) => r.slice(0, 4)))}\n\nCPU per pod, first start → last done\n${textTable(cpuHeaders, cpuRows)}\n`,
  );

  const body = [
    ...sectionHeading('Pods: create → Running on a real edge', machine, command, [
      `- Load average (1, 5, 15 min) when it started: ${load.map((l) => l.toFixed(2)).join(', ')}; when it ended: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`,
    ]),
    '**Setup.** A private containerd (`libs/testing/containerd-fixture`, runc, CNI bridge, the offline `localhost/kedge/busybox:1`',
    'and `localhost/kedge/pause:1` images already imported), a cloudcore child process (embedded API server,',
    'CloudHub on WebSocket, EdgeController) and one edgecore child process (EdgeHub, MetaManager, MetaServer,',
    'edged on that containerd), both under tsx at log level info, all on this machine.',
    '',
    `**Method.** ${ROUNDS} rounds; each starts ${POD_COUNT} pods straight through CRI, removes them, then creates ${POD_COUNT} pods through`,
    'the API and deletes them again, so both paths run beside the same idle cloudcore and edgecore. *kedge*: pods',
    '(busybox `sleep 3600`, `spec.nodeName` = the edge) created at once through the API (`@kubernetes/client-node` on',
    'kept-alive connections, `KeepAliveKubeConfig`, as kubectl and client-go keep theirs);',
    "a pod's time runs from its create's 2xx response to the first event of a watch on the API server (opened",
    'before the creates) that shows `status.phase == Running`. It includes the trip down to the edge, sandbox and',
    "container start on containerd, and edged's status report back up. *Raw CRI*: the same pods started at once by",
    'the benchmark itself through `@kedge/cri` (RunPodSandbox, CreateContainer, StartContainer; one uncounted',
    'warm-up pod before the first round), each timed from sending RunPodSandbox to StartContainer answered.',
    '',
    markdownTable(latencyHeaders, latencyRows),
    '',
    "**Where the time goes.** containerd's own timestamps (sandbox `createdAt`, container `createdAt` and `startedAt`,",
    'the same clock as the benchmark) split each pod into stages; each cell is the p50 over all pods of that stage',
    'alone, so the cells need not add up to the p50 above.',
    '',
    markdownTable(stageHeaders, stageRows),
    '',
    "**CPU per pod** (user + system from `/proc/<pid>/stat`, over each round from its first start to its last pod done, divided by",
    'the pods, median of the rounds): what each process spent to start a pod. The raw rows show the same processes idling',
    'beside the raw path (the benchmark process, the CRI client, is not counted; the shims and runc are not either).',
    '',
    markdownTable(cpuHeaders, cpuRows),
    '',
    'All pods start at once on 2 cores, so the stages overlap and compete: containerd is slower on the kedge path',
    'where cloudcore and edgecore take CPU beside it, and faster where edged reached it later. On a loaded machine',
    "containerd's share grows on both paths and the ratio shrinks toward 1; compare ratios from runs at similar load.",
    "What edged does on this path, and what it stopped doing (a second pass per pod, a stale first report, a sync",
    "per status echo, syncing every pod every second), is in `libs/edge/edged/README.md` (*Where a pod start's time goes*).",
    '',
    "edgecore's memory (idle and with 20 pods) is measured by `tools/bench/edgecore-memory.ts` and reported in its",
    'own section of this page (`edgecore-memory`).',
  ].join('\n');
  writeBenchmarkSection(SECTION, body, flags['dry-run']);
}

runBenchmark('pods benchmark', main, { shutdown, stopping: 'stopping edgecore, cloudcore and containerd' });

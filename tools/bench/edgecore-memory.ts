// Benchmark (a script, not a test): edgecore's resident memory from the gateway tarball (bin/edgecore → the
// esbuild bundle, with the launcher's Node.js options), idle and connected with edged on a real private
// containerd, MetaServer and the embedded MQTT broker on, and again with N pods running; against the floor in the
// same run: a plain `node -e` process holding one idle `ws` TLS WebSocket connection to the same hub. Beside
// them, edgecores with one feature off each (the per-module cost), and the same edgecore with each candidate
// Node.js option alone (the option table of docs/deploy.md "Memory"). Where the bytes are comes from edgecore's
// own /debug/memory (kernel RSS split, V8 heap spaces, code, external). RSS is VmRSS from /proc/<pid>/status,
// sampled after an idle period (median); CPU is utime+stime from /proc/<pid>/stat. Writes its section of
// docs/benchmarks.md.
//
//   node --import tsx tools/bench/edgecore-memory.ts [--idle-seconds 20] [--samples 5] [--pods 20]
//     [--no-options] [--tsx] [--tarball dist/kedge-edgecore-<version>-linux-x64.tar.gz] [--dry-run]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { connectAsync } from 'mqtt';
import { BUSYBOX_IMAGE, importKedgeImages, isContainerdAvailable, startPrivateContainerd, stopPrivateContainerd } from '@kedge/containerd-fixture';
import { loadOrCreateAuthority } from '@kedge/pki';
import type { ProcessMemory } from '@kedge/telemetry';
import { issueToken, writeTokenFile } from '../e2e/cluster';
import { KedgeProcess, startApp, writeYaml } from '../e2e/harness';
import { buildEdgecoreTarball } from '../package/edgecore-tarball';
import { EDGECORE_NODE_OPTIONS, EDGECORE_UV_THREADPOOL_SIZE } from '../package/node-options';
import {
  benchCommand,
  formatInteger,
  benchTempDir,
  describeMachine,
  formatRatio,
  loopbackCloudCoreConfig,
  machineInfo,
  mapLimit,
  markdownTable,
  nodeTlsMaterial,
  parseBenchFlags,
  percentile,
  positiveInteger,
  progress,
  repoRoot,
  residentBytes,
  runBenchmark,
  sectionHeading,
  sleep,
  startCloudCoreProcess,
  stopAllCloudCores,
  summaryTitle,
  textTable,
  writeBenchmarkSection,
  type CloudCoreProcess,
} from './bench-kit';

const SECTION = 'edgecore-memory';
const SAMPLE_INTERVAL_MS = 2_000;
const CONNECT_TIMEOUT_MS = 120_000;
const NAMESPACE = 'default';
const TARGET_IDLE_MB = 70;
const TARGET_PODS_MB = 90;

const flags = parseBenchFlags(import.meta.filename, {
  'idle-seconds': { type: 'string', default: '20' },
  samples: { type: 'string', default: '5' },
  pods: { type: 'string', default: '20' },
  'no-options': { type: 'boolean', default: false },
  tsx: { type: 'boolean', default: false },
  tarball: { type: 'string' },
});

/** Candidate Node.js options, each measured alone on the edgecore without pods (one process each). */
const CANDIDATE_OPTIONS: readonly { label: string; args: string[]; env?: Record<string, string> }[] = [
  { label: "Node's defaults", args: [] },
  { label: '--max-semi-space-size=1', args: ['--max-semi-space-size=1'] },
  { label: '--max-semi-space-size=2', args: ['--max-semi-space-size=2'] },
  { label: '--max-old-space-size=64', args: ['--max-old-space-size=64'] },
  { label: '--single-threaded-gc', args: ['--single-threaded-gc'] },
  { label: '--v8-pool-size=1', args: ['--v8-pool-size=1'] },
  { label: '--optimize-for-size', args: ['--optimize-for-size'] },
  { label: '--lite-mode', args: ['--lite-mode'] },
  { label: '--jitless', args: ['--jitless'] },
  { label: 'UV_THREADPOOL_SIZE=1', args: [], env: { UV_THREADPOOL_SIZE: '1' } },
  { label: '--no-opt --no-sparkplug', args: ['--no-opt', '--no-sparkplug'] },
  // combinations
  { label: '--max-semi-space-size=1 --lite-mode --v8-pool-size=1', args: ['--max-semi-space-size=1', '--lite-mode', '--v8-pool-size=1'] },
  { label: '--max-semi-space-size=1 --no-opt --no-sparkplug --optimize-for-size', args: ['--max-semi-space-size=1', '--no-opt', '--no-sparkplug', '--optimize-for-size'] },
  { label: '… and --v8-pool-size=1 (the launcher)', args: ['--max-semi-space-size=1', '--no-opt', '--no-sparkplug', '--optimize-for-size', '--v8-pool-size=1'] },
  // what --no-opt --no-sparkplug alone are worth on top of the rest: they cost ~2.2x CPU on JavaScript-bound work
  { label: 'the launcher without --no-opt --no-sparkplug', args: ['--max-semi-space-size=1', '--optimize-for-size', '--v8-pool-size=1'] },
  // glibc malloc: fewer arenas (one per thread by default, up to 8 per core) and trimming freed memory sooner
  { label: 'the launcher and MALLOC_ARENA_MAX=2', args: [...EDGECORE_NODE_OPTIONS], env: { MALLOC_ARENA_MAX: '2' } },
  { label: 'the launcher and MALLOC_ARENA_MAX=1', args: [...EDGECORE_NODE_OPTIONS], env: { MALLOC_ARENA_MAX: '1' } },
  { label: 'the launcher and MALLOC_TRIM_THRESHOLD_=65536 MALLOC_TOP_PAD_=0', args: [...EDGECORE_NODE_OPTIONS], env: { MALLOC_TRIM_THRESHOLD_: '65536', MALLOC_TOP_PAD_: '0' } },
];

/** The option rows the MQTT burst compares: with and without the interpreter-only flags. */
const BURST_WITH = '… and --v8-pool-size=1 (the launcher)';
const BURST_WITHOUT = 'the launcher without --no-opt --no-sparkplug';
const BURST_MESSAGES = 20_000;
const BURST_WINDOW = 100;
const BURST_ROUNDS = 3;

/**
 * The floor: one `ws` client over TLS with a node certificate, idle; says "open" on stdout once connected and
 * exits 1 if the connection closes. Certificate, key, CA and URL come in the environment.
 */
const FLOOR_SCRIPT = `
const { WebSocket } = require('ws');
const socket = new WebSocket(process.env.BENCH_URL, {
  cert: process.env.BENCH_CERT, key: process.env.BENCH_KEY, ca: process.env.BENCH_CA,
  headers: { node_id: process.env.BENCH_NODE }, perMessageDeflate: false,
});
socket.on('open', () => process.stdout.write(JSON.stringify({ level: 30, msg: 'open' }) + '\\n'));
socket.on('error', (error) => { process.stderr.write(String(error) + '\\n'); process.exit(1); });
socket.on('close', (code) => { process.stderr.write('closed ' + code + '\\n'); process.exit(1); });
`;

/**
 * A JavaScript-bound stand-in for a busy gateway (no I/O): build pod-like objects, diff them against the previous
 * one with a recursive walk, and match MQTT topics against filters, as the twin, MetaManager and the broker do.
 * Prints its own CPU milliseconds; run with each set of Node.js options to see what giving up the optimizing
 * compilers costs.
 */
const WORKLOAD_SCRIPT = `
const start = process.cpuUsage();
const diff = (a, b, path, out) => {
  if (a === b) return out;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) { out.push(path); return out; }
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) diff(a[key], b[key], path + '/' + key, out);
  return out;
};
const matches = (filter, topic) => {
  const f = filter.split('/'), t = topic.split('/');
  for (let i = 0; i < f.length; i++) { if (f[i] === '#') return true; if (f[i] !== '+' && f[i] !== t[i]) return false; }
  return f.length === t.length;
};
const filters = ['$hw/events/device/+/+/twin/update', '$hw/events/node/#', 'app/+/status', 'SYS/dis/upload_records'];
let previous = {}, changes = 0, matched = 0;
for (let i = 0; i < 60000; i++) {
  const pod = { metadata: { name: 'pod-' + (i % 50), labels: { app: 'a' + (i % 7), tier: 'edge' }, resourceVersion: String(i) },
    spec: { containers: [{ name: 'c', image: 'busybox', env: [{ name: 'N', value: String(i % 3) }] }] },
    status: { phase: i % 5 ? 'Running' : 'Pending', conditions: [{ type: 'Ready', status: i % 2 ? 'True' : 'False' }] } };
  changes += diff(previous, pod, '', []).length;
  previous = pod;
  for (const filter of filters) if (matches(filter, '$hw/events/device/default/d' + (i % 9) + '/twin/update')) matched++;
}
const used = process.cpuUsage(start);
process.stdout.write(JSON.stringify({ cpuMs: (used.user + used.system) / 1000, changes, matched }) + '\\n');
`;

/** Median CPU ms of WORKLOAD_SCRIPT over `runs` runs with `args`. */
function workloadCpuMs(args: readonly string[], runs: number): number {
  const values = Array.from({ length: runs }, () => {
    const out = execFileSync(process.execPath, [...args, '-e', WORKLOAD_SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return (JSON.parse(out.trim().split('\n').pop()!) as { cpuMs: number }).cpuMs;
  });
  return median(values);
}

/**
 * What the interpreter-only flags cost on real work: a burst of QoS 1 publishes (an application topic, 120-byte
 * JSON payloads, BURST_WINDOW in flight) through the embedded broker of two tarball edgecores that differ only in
 * --no-opt --no-sparkplug; edgecore's CPU (utime+stime) per message, median over alternating rounds. The mqtt.js
 * client runs in this process, so its CPU is not counted.
 */
async function mqttBursts(subjects: readonly Subject[]): Promise<{ with: number; without: number } | undefined> {
  const pick = (label: string): Subject | undefined => subjects.find((s) => s.group === 'option' && s.label === label);
  const pair = { with: pick(BURST_WITH), without: pick(BURST_WITHOUT) };
  if (!pair.with || !pair.without) return undefined;
  const payload = JSON.stringify({ event_id: '', timestamp: 0, twin: { temperature: { actual: { value: '21.5' }, metadata: { type: 'float' } } } }).padEnd(120, ' ');
  const perMessage: Record<'with' | 'without', number[]> = { with: [], without: [] };
  for (let round = 0; round < BURST_ROUNDS; round++) {
    for (const key of ['with', 'without'] as const) {
      const subject = pair[key]!;
      const port = (subject.process.logs.find((l) => l.msg === 'edgecore ready')?.ports as { mqtt?: number } | undefined)?.mqtt;
      if (!port) throw new Error(`${subject.process.name} reported no MQTT port`);
      const client = await connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `bench-burst-${key}-${round}`, reconnectPeriod: 0 });
      try {
        const before = cpuSeconds(subject.process.pid);
        let next = 0;
        await Promise.all(
          Array.from({ length: BURST_WINDOW }, async () => {
            while (next < BURST_MESSAGES) {
              const i = next++;
              await client.publishAsync(`bench/burst/${i % 16}`, payload, { qos: 1 });
            }
          }),
        );
        // the last PUBACK is sent before edgecore's own bookkeeping of it ends: let it settle
        await sleep(500);
        perMessage[key].push(((cpuSeconds(subject.process.pid) - before) * 1e6) / BURST_MESSAGES);
      } finally {
        await client.endAsync();
      }
    }
    progress(`MQTT burst round ${round + 1}: ${perMessage.with.at(-1)!.toFixed(1)} µs/message with --no-opt --no-sparkplug, ${perMessage.without.at(-1)!.toFixed(1)} without`);
  }
  return { with: median(perMessage.with), without: median(perMessage.without) };
}

const processes: KedgeProcess[] = [];
let cloud: CloudCoreProcess | undefined;
let containerdDir: string | undefined;

async function shutdown(): Promise<void> {
  await Promise.all(processes.map((p) => p.stop('SIGTERM', 10_000)));
  await cloud?.stop(5_000);
  await stopAllCloudCores(2_000);
  if (containerdDir) {
    const report = await stopPrivateContainerd(containerdDir);
    if (report.pid !== undefined) progress(`stopped containerd pid ${report.pid}; removed ${report.removedSandboxes.length} sandbox(es)`);
  }
}

/** Which features an edgecore subject runs with; everything else is edgecore's default. */
interface Features {
  edged: boolean;
  metaServer: boolean;
  broker: boolean;
}
const ALL_ON: Features = { edged: true, metaServer: true, broker: true };

function edgeConfig(dir: string, nodeName: string, hub: CloudCoreProcess, features: Features, criSocket: string): string {
  mkdirSync(dir, { recursive: true });
  return writeYaml(join(dir, 'edgecore.yaml'), {
    nodeName,
    dataDir: dir,
    edgeHub: { protocol: 'websocket', server: `127.0.0.1:${hub.ports.websocket}`, httpServer: `https://127.0.0.1:${hub.ports.https}` },
    metrics: { address: '127.0.0.1', port: 0 },
    metaServer: features.metaServer ? { address: '127.0.0.1', port: 0, podAccess: { port: 0 } } : { enable: false },
    eventBus: features.broker ? { internal: { address: '127.0.0.1', port: 0 } } : { enable: false },
    edged: features.edged ? { enable: true, containerRuntimeEndpoint: `unix://${criSocket}` } : { enable: false },
    log: { level: 'info' },
  });
}

interface Subject {
  key: string;
  label: string;
  process: KedgeProcess;
  kind: 'floor' | 'edgecore';
  group: 'main' | 'feature' | 'option';
  /** CPU seconds (utime+stime) when connected and ready, and at the end of the idle samples */
  cpuReady?: number;
  cpuIdle?: number;
  metricsPort?: number;
  rss: number[];
}

const median = (values: readonly number[]): number => percentile(Float64Array.from(values).sort(), 50);
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime + stime of `pid` in seconds (fields 14 and 15 of /proc/<pid>/stat, after the command in parentheses). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

type Breakdown = ProcessMemory & { features?: string[]; sqliteBytes: number };

/** (c)'s /debug/memory, plus the size of its SQLite files: each connection's page cache holds at most that (and 2 MiB, SQLite's default). */
async function debugMemory(port: number, dataDir: string): Promise<Breakdown> {
  const response = await fetch(`http://127.0.0.1:${port}/debug/memory`);
  if (!response.ok) throw new Error(`/debug/memory answered ${response.status}`);
  const sqliteBytes = ['edgecore.db', 'devicetwin.db'].map((file) => join(dataDir, file)).filter((file) => existsSync(file)).reduce((sum, file) => sum + statSync(file).size, 0);
  return { ...((await response.json()) as ProcessMemory & { features?: string[] }), sqliteBytes };
}

function podBody(name: string, nodeName: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NAMESPACE },
    spec: {
      nodeName,
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'app', image: BUSYBOX_IMAGE, imagePullPolicy: 'Never', command: ['sleep', '3600'] }],
    },
  };
}

async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(500);
  }
}

async function main(): Promise<void> {
  const idleSeconds = positiveInteger('idle-seconds', flags['idle-seconds']);
  const samples = positiveInteger('samples', flags.samples);
  const podCount = positiveInteger('pods', flags.pods);
  const availability = await isContainerdAvailable();
  if (!availability.available) throw new Error(`cannot run a private containerd: ${availability.reason}`);
  const machine = machineInfo();
  const startLoad = loadavg().map((value) => value.toFixed(1)).join(', ');
  progress(`edgecore-memory bench on ${describeMachine(machine)}; load average ${startLoad}`);
  // short: containerd's socket path must fit in 108 bytes
  const workDir = benchTempDir('kbm-');

  // --- the tarball, built once (or the one given) and unpacked
  let tarball = flags.tarball === undefined ? undefined : resolve(flags.tarball);
  if (tarball === undefined) {
    progress('building the edgecore tarball');
    tarball = (await buildEdgecoreTarball(join(workDir, 'dist'), { log: (line: string) => progress(`  ${line}`) })).file;
  }
  const unpacked = join(workDir, 'gateway');
  mkdirSync(unpacked);
  execFileSync('tar', ['-xzf', tarball, '-C', unpacked, '--strip-components=1']);
  progress(`unpacked ${tarball}`);

  // --- a private containerd for the edgecore with edged on (own subnet and bridge, beside any test suite's)
  containerdDir = join(workDir, 'ctd');
  const containerd = await startPrivateContainerd(containerdDir, { podSubnet: '10.88.214.0/24', bridgeName: 'kedge-cni-bm' });
  await importKedgeImages(containerd.socketPath, containerd.paths.imageCacheDir);
  progress(`private containerd ready at ${containerd.socketPath}`);

  // --- cloudcore; keepalive long enough that the idle floor connection is not swept
  const cloudDir = join(workDir, 'cloud');
  mkdirSync(cloudDir);
  cloud = await startCloudCoreProcess({
    repoRoot,
    dataDir: cloudDir,
    config: loopbackCloudCoreConfig({ keepaliveTimeoutSeconds: 600 }, { kubeAPI: { embedded: { address: '127.0.0.1', port: 0 } } }),
  });
  if (!cloud.ports.websocket || !cloud.ports.https || !cloud.kubeconfig) throw new Error('cloudcore reported no WebSocket or HTTPS hub port or kubeconfig');
  progress(`cloudcore pid ${cloud.pid} ready: hub wss://127.0.0.1:${cloud.ports.websocket}`);
  const hub = cloud;

  // one join token for every edgecore of the run
  const token = await issueToken(hub, ['--node-pattern', 'bench-mem-*', '--count', '100']);
  const tokenFile = writeTokenFile(workDir, token);
  const authority = await loadOrCreateAuthority(join(hub.dataDir, 'pki'));
  const subjects: Subject[] = [];

  const startFloor = async (key: string, label: string, execArgv: readonly string[]): Promise<void> => {
    const nodeName = `bench-mem-${key}`;
    const tls = await nodeTlsMaterial(authority, nodeName);
    const child = spawn(process.execPath, [...execArgv, '-e', FLOOR_SCRIPT], {
      cwd: repoRoot,
      env: {
        ...process.env,
        BENCH_URL: `wss://127.0.0.1:${hub.ports.websocket}/e632aba927ea4ac2b575ec1603d56f10/${nodeName}/events`,
        BENCH_CERT: tls.cert,
        BENCH_KEY: tls.key,
        BENCH_CA: tls.ca,
        BENCH_NODE: nodeName,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    subjects.push({ key, label, kind: 'floor', group: 'main', process: new KedgeProcess(`floor ${key}`, child), rss: [] });
  };
  /** edgecore from the unpacked tarball; `nodeOptions` undefined = the launcher's own */
  const startTarballEdgecore = (key: string, label: string, group: Subject['group'], features: Features, nodeOptions?: readonly string[], env: Record<string, string> = {}): void => {
    const nodeName = `bench-mem-${key}`;
    const config = edgeConfig(join(workDir, `edge-${key}`), nodeName, hub, features, containerd.socketPath);
    const child = spawn(join(unpacked, 'bin', 'edgecore'), ['--config', config, '--token-file', tokenFile], {
      cwd: unpacked,
      // the launcher execs $NODE, so the child's pid is node's
      env: { ...process.env, NODE: process.execPath, ...(nodeOptions === undefined ? {} : { KEDGE_NODE_OPTIONS: nodeOptions.join(' ') }), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    subjects.push({ key, label, kind: 'edgecore', group, process: new KedgeProcess(`edgecore ${key}`, child), rss: [] });
  };

  const launcherOptions = EDGECORE_NODE_OPTIONS.join(' ') || "Node's defaults";
  await startFloor('floor', '(a) floor: `node -e`, one idle `ws` TLS client', []);
  await startFloor('floor-tuned', `(a′) the floor with the launcher's options (${launcherOptions})`, EDGECORE_NODE_OPTIONS);
  startTarballEdgecore('full', '(c) edgecore from the tarball: edged on containerd, MetaServer, broker on', 'main', ALL_ON);
  // the common case: a gateway that rebooted, its certificates on disk (started, then stopped and started again below)
  startTarballEdgecore('restarted', "(c′) the same, restarted: already joined, MetaServer's local CA on disk", 'main', ALL_ON);
  // the per-feature figures: each row is the edgecore above it with one more feature off
  startTarballEdgecore('no-edged', 'edged off', 'feature', { ...ALL_ON, edged: false });
  startTarballEdgecore('no-edged-metaserver', 'edged and MetaServer off', 'feature', { ...ALL_ON, edged: false, metaServer: false });
  startTarballEdgecore('core', 'edged, MetaServer and the EventBus (broker, twin, mappers) off', 'feature', { edged: false, metaServer: false, broker: false });
  if (!flags['no-options']) {
    CANDIDATE_OPTIONS.forEach((option, index) => startTarballEdgecore(`option-${index}`, option.label, 'option', { ...ALL_ON, edged: false }, option.args, option.env));
  }
  if (flags.tsx) {
    const dir = join(workDir, 'edge-tsx');
    const config = edgeConfig(dir, 'bench-mem-tsx', hub, { ...ALL_ON, edged: false }, containerd.socketPath);
    subjects.push({ key: 'tsx', label: '(b) edgecore from source under tsx, edged off', kind: 'edgecore', group: 'main', process: startApp('edgecore', ['--config', config, '--token-file', tokenFile]), rss: [] });
  }
  processes.push(...subjects.map((s) => s.process));

  for (const subject of subjects) {
    if (subject.kind === 'floor') {
      await subject.process.waitForLog((l) => l.msg === 'open', 'connected', CONNECT_TIMEOUT_MS);
    } else {
      await subject.process.waitForLog((l) => l.msg === 'connected to cloudcore', 'connected', CONNECT_TIMEOUT_MS);
      const ready = await subject.process.waitForLog((l) => l.msg === 'edgecore ready', 'edgecore ready', CONNECT_TIMEOUT_MS);
      subject.metricsPort = (ready.ports as { metrics?: number } | undefined)?.metrics;
    }
    subject.cpuReady = cpuSeconds(subject.process.pid);
    progress(`${subject.process.name} pid ${subject.process.pid} connected`);
  }
  {
    const restarted = subjects.find((s) => s.key === 'restarted')!;
    await restarted.process.stop('SIGTERM', 10_000);
    const index = subjects.indexOf(restarted);
    startTarballEdgecore('restarted', restarted.label, 'main', ALL_ON);
    const again = subjects.pop()!;
    subjects[index] = again;
    processes.push(again.process);
    await again.process.waitForLog((l) => l.msg === 'connected to cloudcore', 'connected', CONNECT_TIMEOUT_MS);
    const ready = await again.process.waitForLog((l) => l.msg === 'edgecore ready', 'edgecore ready', CONNECT_TIMEOUT_MS);
    again.metricsPort = (ready.ports as { metrics?: number } | undefined)?.metrics;
    again.cpuReady = cpuSeconds(again.process.pid);
    progress(`${again.process.name} pid ${again.process.pid} restarted and connected`);
  }
  const full = subjects.find((s) => s.key === 'full')!;
  const fullReady = full.process.logs.find((l) => l.msg === 'pods are on');
  if (!fullReady) throw new Error(`edgecore full: pods are not on:\n${full.process.describe()}`);

  const sample = async (which: readonly Subject[]): Promise<void> => {
    progress(`idle for ${idleSeconds} s, then ${samples} samples ${SAMPLE_INTERVAL_MS / 1000} s apart`);
    await sleep(idleSeconds * 1000);
    for (let i = 0; i < samples; i++) {
      if (i > 0) await sleep(SAMPLE_INTERVAL_MS);
      for (const subject of which) {
        if (!subject.process.running) throw new Error(`${subject.process.name} exited while idle:\n${subject.process.describe()}`);
        subject.rss.push(residentBytes(subject.process.pid));
      }
    }
  };
  await sample(subjects);
  for (const subject of subjects) subject.cpuIdle = cpuSeconds(subject.process.pid) - subject.cpuReady!;
  for (const subject of subjects) {
    const connects = subject.process.logs.filter((l) => l.msg === (subject.kind === 'floor' ? 'open' : 'connected to cloudcore')).length;
    if (connects !== 1) throw new Error(`${subject.process.name} connected ${connects} times while measured`);
  }
  const idleBreakdown = await debugMemory(full.metricsPort!, join(workDir, 'edge-full'));
  const restartedBreakdown = await debugMemory(subjects.find((s) => s.key === 'restarted')!.metricsPort!, join(workDir, 'edge-restarted'));
  const idleRss = median(full.rss);
  const burst = await mqttBursts(subjects);
  // everything but the subject with pods stops now: the pods phase measures one edgecore on a quieter machine
  await Promise.all(subjects.filter((s) => s !== full && s.key !== 'floor').map((s) => s.process.stop('SIGTERM', 10_000)));

  // --- (d) N pods on the full edgecore, created through the API server
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(hub.kubeconfig!);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const names = Array.from({ length: podCount }, (_, i) => `bench-mem-${i}`);
  progress(`creating ${podCount} pods on bench-mem-full`);
  const cpuBeforePods = cpuSeconds(full.process.pid);
  await mapLimit(names, 5, (name) => core.createNamespacedPod({ namespace: NAMESPACE, body: podBody(name, 'bench-mem-full') }));
  await waitUntil(
    async () => {
      const list = await core.listNamespacedPod({ namespace: NAMESPACE }).catch(() => undefined);
      return (list?.items ?? []).filter((pod) => pod.status?.phase === 'Running').length === podCount;
    },
    `${podCount} pods Running`,
    240_000,
  );
  const podsCpu = cpuSeconds(full.process.pid) - cpuBeforePods;
  progress(`${podCount} pods Running; edgecore used ${podsCpu.toFixed(2)} s CPU for them`);
  full.rss = [];
  const floor = subjects.find((s) => s.key === 'floor')!;
  floor.rss = [];
  await sample([full, floor]);
  const podsBreakdown = await debugMemory(full.metricsPort!, join(workDir, 'edge-full'));
  const podsRss = median(full.rss);

  // what the options cost a busy gateway in CPU, on a JavaScript-bound workload (after the edgecores stopped)
  const workload = [
    { label: "Node's defaults", args: [] as string[] },
    { label: `the launcher's (${EDGECORE_NODE_OPTIONS.join(' ')})`, args: [...EDGECORE_NODE_OPTIONS] },
    { label: '--lite-mode (not used: no WebAssembly, so no fetch())', args: ['--lite-mode'] },
  ].map((w) => ({ ...w, cpuMs: workloadCpuMs(w.args, 3) }));
  for (const w of workload) progress(`workload with ${w.label}: ${w.cpuMs.toFixed(0)} ms CPU`);

  report({ machine, startLoad, idleSeconds, samples, podCount, subjects, idleRss, podsRss, podsCpu, idleBreakdown, restartedBreakdown, podsBreakdown, workload, burst });
}

interface Report {
  machine: ReturnType<typeof machineInfo>;
  startLoad: string;
  idleSeconds: number;
  samples: number;
  podCount: number;
  subjects: Subject[];
  idleRss: number;
  podsRss: number;
  /** edgecore's CPU seconds from the first create to all pods Running */
  podsCpu: number;
  /** CPU ms of the JavaScript-bound workload per set of options */
  workload: { label: string; cpuMs: number }[];
  idleBreakdown: Breakdown;
  restartedBreakdown: Breakdown;
  podsBreakdown: Breakdown;
  /** CPU µs per message of the MQTT burst on the edgecores with and without --no-opt --no-sparkplug (undefined: --no-options) */
  burst: { with: number; without: number } | undefined;
}

function breakdownRows(idle: Breakdown, restarted: Breakdown, pods: Breakdown): string[][] {
  const row = (label: string, pick: (m: ProcessMemory) => number | undefined): string[] => [label, ...[idle, restarted, pods].map((m) => mb(pick(m) ?? 0))];
  const space = (name: string) => (m: ProcessMemory) => m.v8.spaces[name]?.committed;
  const otherSpaces = (m: ProcessMemory): number =>
    Object.entries(m.v8.spaces)
      .filter(([name]) => !['new_space', 'old_space', 'code_space', 'large_object_space'].includes(name))
      .reduce((sum, [, s]) => sum + s.committed, 0);
  return [
    row('VmRSS', (m) => m.kernel?.rss),
    row('  anonymous (heap, stacks, malloc)', (m) => m.kernel?.rssAnon),
    row('  file-backed (node binary, native addons)', (m) => m.kernel?.rssFile),
    row('V8 heap committed', (m) => m.v8.heapCommitted),
    row('  of which used', (m) => m.v8.heapUsed),
    row('  new space (young generation)', space('new_space')),
    row('  old space', space('old_space')),
    row('  code space', space('code_space')),
    row('  large objects', space('large_object_space')),
    row('  other spaces (map, read-only, trusted, …)', otherSpaces),
    row('bytecode and metadata (in the heap)', (m) => m.v8.bytecodeAndMetadata),
    row('script sources held outside the heap', (m) => m.v8.externalScriptSource),
    row('external (Buffers, native addons reported to V8)', (m) => m.v8.external),
    row('  of which ArrayBuffers', (m) => m.v8.arrayBuffers),
    row("V8's own malloc", (m) => m.v8.mallocedMemory),
    ['SQLite files (edgecore.db, devicetwin.db; bound the page caches)', ...[idle, restarted, pods].map((m) => mb(m.sqliteBytes))],
    ['threads', ...[idle, restarted, pods].map((m) => String(m.kernel?.threads ?? ''))],
  ];
}

function report(r: Report): void {
  const by = (key: string): Subject | undefined => r.subjects.find((s) => s.key === key);
  const floor = by('floor')!;
  const floorRss = median(floor.rss);
  const floorTunedRss = median(by('floor-tuned')!.rss);
  const cpu = (s: Subject): string => `${s.cpuReady!.toFixed(2)} s / ${s.cpuIdle!.toFixed(2)} s`;

  const mainHeaders = ['process', 'median VmRSS', '÷ floor', 'target', 'CPU to ready / while idle'];
  const mainRows: string[][] = [];
  for (const s of r.subjects.filter((x) => x.group === 'main')) {
    const rss = s.key === 'full' ? r.idleRss : median(s.rss);
    mainRows.push([s.label, mb(rss), formatRatio(rss / floorRss), s.key === 'full' || s.key === 'restarted' ? `≤ ${TARGET_IDLE_MB} MB` : '', s.key.startsWith('floor') ? '' : cpu(s)]);
  }
  mainRows.push([`(d) the same edgecore (c) with ${r.podCount} pods running`, mb(r.podsRss), formatRatio(r.podsRss / floorRss), `≤ ${TARGET_PODS_MB} MB`, `${r.podsCpu.toFixed(2)} s to start the pods`]);

  const featureHeaders = ['edgecore from the tarball', 'median VmRSS', 'the feature turned off costs'];
  const chain = ['full', 'no-edged', 'no-edged-metaserver', 'core'].map(by).filter((s): s is Subject => s !== undefined);
  const featureRows = chain.map((s, i) => {
    const rss = s.key === 'full' ? r.idleRss : median(s.rss);
    const before = i === 0 ? undefined : chain[i - 1]!.key === 'full' ? r.idleRss : median(chain[i - 1]!.rss);
    const what = ['', 'edged (pods, CRI/gRPC, image GC)', 'MetaServer (HTTPS, local CA, pod API)', 'EventBus (aedes broker, DeviceTwin, mappers)'][i]!;
    return [s.key === 'full' ? 'everything on (c)' : s.label, mb(rss), before === undefined ? '' : `${what}: ${mb(before - rss)}`];
  });
  featureRows.push(['the floor (a)', mb(floorRss), `edgecore's core above the floor: ${mb(median(by('core')!.rss) - floorRss)}`]);

  const options = r.subjects.filter((s) => s.group === 'option');
  const optionBase = options[0];
  const optionHeaders = ['Node.js option (alone; edgecore, edged off)', 'median VmRSS', 'Δ vs defaults', 'CPU to ready', 'CPU while idle'];
  const optionRows = options.map((s) => {
    const rss = median(s.rss);
    return [s.label, mb(rss), s === optionBase ? '' : mb(rss - median(optionBase!.rss)), `${s.cpuReady!.toFixed(2)} s`, `${s.cpuIdle!.toFixed(2)} s`];
  });
  const workloadHeaders = ['Node.js options', 'CPU for the JavaScript-bound workload', '÷ defaults'];
  const workloadRows = r.workload.map((w) => [w.label, `${w.cpuMs.toFixed(0)} ms`, formatRatio(w.cpuMs / r.workload[0]!.cpuMs)]);
  const breakdownHeaders = ['where (from the edgecore\'s /debug/memory)', '(c) idle, connected', '(c′) restarted, idle', `(d) ${r.podCount} pods running`];
  const breakdown = breakdownRows(r.idleBreakdown, r.restartedBreakdown, r.podsBreakdown);
  const burstHeaders = ['edgecore from the tarball (edged off), Node.js options', 'edgecore CPU per QoS 1 message', 'ratio'];
  const burstRows = r.burst
    ? [
        [`the launcher's (${EDGECORE_NODE_OPTIONS.join(' ')})`, `${r.burst.with.toFixed(1)} µs`, formatRatio(r.burst.with / r.burst.without)],
        ['the launcher without --no-opt --no-sparkplug', `${r.burst.without.toFixed(1)} µs`, '1.00×'],
      ]
    : [];
  const restartedRss = median(by('restarted')!.rss);

  process.stdout.write(summaryTitle('edgecore-memory', r.machine));
  process.stdout.write(`${textTable(mainHeaders, mainRows)}\n\n${textTable(featureHeaders, featureRows)}\n\n`);
  if (optionRows.length > 0) process.stdout.write(`${textTable(optionHeaders, optionRows)}\n\n`);
  process.stdout.write(`${textTable(workloadHeaders, workloadRows)}\n\n`);
  if (burstRows.length > 0) process.stdout.write(`${textTable(burstHeaders, burstRows)}\n\n`);
  process.stdout.write(`${textTable(breakdownHeaders, breakdown)}\n`);

  const body = [
    ...sectionHeading('edgecore memory: the gateway tarball against the floor', r.machine, benchCommand('edgecore-memory'), [
      `- Load average when it started: ${r.startLoad} (other work on the machine competes for the cores)`,
      `- Launcher options: \`${EDGECORE_NODE_OPTIONS.join(' ') || '(none)'}\`, UV_THREADPOOL_SIZE ${EDGECORE_UV_THREADPOOL_SIZE} (tools/package/node-options.ts)`,
    ]),
    'One cloudcore child process (embedded API server, WebSocket hub on 127.0.0.1), one private containerd',
    '(`@kedge/containerd-fixture`), and, connected to the hub at the same time: **(a)** the floor, a plain `node -e`',
    'process holding one idle `ws` TLS WebSocket client connection with a node certificate signed by cloudcore\'s CA;',
    '**(c)** edgecore from the gateway tarball (`tools/package/edgecore-tarball.ts`, built in the run; `bin/edgecore` →',
    '`node <launcher options> lib/edgecore.mjs`, the esbuild bundle) with edged on the private containerd, MetaServer,',
    'the embedded MQTT broker, DeviceTwin, mappers and metrics on, log level info; edgecores from the same tarball',
    'with features turned off one after another; and the option table\'s edgecores. After all are connected they sit',
    `idle for ${r.idleSeconds} s; then VmRSS (\`/proc/<pid>/status\`) is read ${r.samples} times ${SAMPLE_INTERVAL_MS / 1000} s apart (median). Then the other`,
    `edgecores stop, ${r.podCount} busybox pods are created through the API server on (c)'s node, and once all are Running`,
    '(d) is sampled the same way. CPU is utime+stime from `/proc/<pid>/stat`: from exec to "edgecore ready" and over',
    'the idle window.',
    '',
    markdownTable(mainHeaders, mainRows),
    '',
    `**Against the floor.** With the same Node.js options the floor holds ${mb(floorTunedRss)}; edgecore (c) is ${mb(r.idleRss - floorTunedRss)} above it`,
    `(${formatRatio(r.idleRss / floorTunedRss)}), the restarted one (c′) ${mb(restartedRss - floorTunedRss)}, and (c) holds ${mb(r.podsRss - r.idleRss)} more with ${r.podCount} pods. Of edgecore's`,
    `${mb(r.idleBreakdown.kernel?.rss ?? 0)}, ${mb(r.idleBreakdown.kernel?.rssFile ?? 0)} are file-backed pages (the \`node\` binary's code and read-only data, better-sqlite3, libc), shared`,
    'with every other Node.js process on the gateway; the floor has most of them too. The rest is the V8 heap (the',
    "modules' code, compacted sources and objects) and native memory; the last table says how much of each.",
    '',
    '**What start-up work no longer leaves behind.** A Node.js process never unloads a module, so one-shot work at',
    'start used to stay in the heap for good. edgecore runs it in a short-lived helper process',
    '(`lib/edgecore-helper.mjs`, apps/edgecore/src/startup-helper.ts): reading and validating edgecore.yaml (zod,',
    "the schema, the YAML parser, and aedes through the schema's topic checks) and the x509 work of a join, a renewal",
    "and MetaServer's first local CA (@peculiar/x509 and its ASN.1 schemas). Measured once with a probe on the same",
    'tarball before and after (load average ~20, 3 samples): idle with everything on 74.0 MB → 73.1 MB with the config',
    'in the helper → 67.4 MB with the x509 work there too (first start); restarted 69.8 → 67.3 MB; with edged,',
    'MetaServer and the EventBus off 69.7 → 61.5 MB. The helper costs about 0.2 s of CPU per run (a second `node`',
    "starting; not in the table's CPU column, which counts the edgecore process only); it runs once per start for the",
    'config, and for the x509 work only when there is some.',
    '',
    '**Per feature.** Each row turns one more feature off (edged needs containerd, so only (c) runs it); the',
    'difference to the row above is what that feature costs when on.',
    '',
    markdownTable(featureHeaders, featureRows),
    '',
    ...(optionRows.length > 0
      ? [
          '**Node.js options**, each alone on the edgecore without pods (the table docs/deploy.md "Memory" cites). CPU to',
          'ready includes parsing the bundle and joining; the idle CPU is the keepalive and timers. `--no-opt`, `--jitless` and',
          '`--lite-mode` run without the optimizing compilers, which costs CPU under load (next table). A single option\'s row',
          'moves by several MB from run to run (it depends on when the heap last grew or shrank); the combinations are steadier.',
          "The last three rows keep the launcher's options and set glibc's malloc instead: fewer arenas (`MALLOC_ARENA_MAX`)",
          'or returning freed memory sooner (`MALLOC_TRIM_THRESHOLD_`, `MALLOC_TOP_PAD_`); the launcher sets none of them.',
          '',
          markdownTable(optionHeaders, optionRows),
          '',
        ]
      : []),
    '**What the options cost in CPU.** Idle, the options cost nothing visible; a busy gateway runs its JavaScript',
    'without the optimizing compilers. A JavaScript-bound stand-in (build pod-like objects, diff each against the',
    'previous one, match MQTT topics against filters; no I/O), run 3 times per row, median:',
    '',
    markdownTable(workloadHeaders, workloadRows),
    '',
    ...(burstRows.length > 0
      ? [
          `**The same on real work**: ${formatInteger(BURST_MESSAGES)} QoS 1 publishes (120-byte JSON, ${BURST_WINDOW} in flight, one mqtt.js client in`,
          "the benchmark's process) through the embedded broker of the two option-table edgecores that differ only in",
          `\`--no-opt --no-sparkplug\`; edgecore's own CPU per message, median of ${BURST_ROUNDS} alternating rounds:`,
          '',
          markdownTable(burstHeaders, burstRows),
          '',
        ]
      : []),
    "**Where the bytes are**, from the edgecores' own `/debug/memory` (loopback-only metrics port) at the end of each phase.",
    'Committed heap is what V8 holds from the OS; the rest of the anonymous RSS is native: the Node.js runtime',
    '(libuv, OpenSSL, ICU), native addons (better-sqlite3 and its page caches, gRPC is pure JS), thread stacks and malloc.',
    '',
    markdownTable(breakdownHeaders, breakdown),
    '',
    `Features loaded (edgecore's module registry): ${(r.podsBreakdown.features ?? []).join(', ') || 'n/a'}. SQLite's page cache holds only pages it`,
    "has read, so it is bounded by the files' size (the SQLite row) well below its 2 MiB default: a smaller `cache_size` would save nothing here.",
  ].join('\n');
  writeBenchmarkSection(SECTION, body, flags['dry-run']);
}

// an interrupted run leaves no edge process behind (killed by pid)
process.once('exit', () => {
  for (const p of processes) if (p.running) p.kill('SIGKILL');
});
runBenchmark('edgecore-memory bench', main, {
  shutdown,
  stopping: 'stopping the edge processes, cloudcore and containerd',
  failureDetail: () => [...processes.map((p) => p.describe()), cloud?.recentStderr() ?? ''].join('\n'),
});

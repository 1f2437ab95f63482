// Benchmark (a script, not a test): edgecore's resident memory when idle and connected, from source under
// tsx and from the gateway tarball (the esbuild bundle lib/edgecore.mjs), against a raw baseline: a plain
// `node -e` process holding one idle `ws` TLS WebSocket connection to the same hub. One cloudcore child
// process (embedded API server, WebSocket hub); each edgecore joins it with its own node name and join
// token (edged off, embedded MQTT broker on). RSS is VmRSS from /proc/<pid>/status, sampled a few times
// after an idle period; the median is reported. Writes its section of docs/benchmarks.md.
//
//   node --import tsx tools/bench/edgecore-memory.ts [--idle-seconds 20] [--samples 5]
//     [--tarball dist/kedge-edgecore-<version>-linux-x64.tar.gz] [--dry-run]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { loadOrCreateAuthority } from '@kedge/pki';
import { waitFor } from '@kedge/testkit';
import { issueToken, writeTokenFile } from '../e2e/cluster';
import { KedgeProcess, startApp, writeYaml } from '../e2e/harness';
import { buildEdgecoreTarball } from '../package/edgecore-tarball';
import {
  benchCommand,
  benchTempDir,
  describeMachine,
  formatBytes,
  formatRatio,
  loopbackCloudCoreConfig,
  machineInfo,
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
const CONNECT_TIMEOUT_MS = 90_000;

const flags = parseBenchFlags(import.meta.filename, {
  'idle-seconds': { type: 'string', default: '20' },
  samples: { type: 'string', default: '5' },
  tarball: { type: 'string' },
});

/**
 * The raw baseline: one `ws` client over TLS with a node certificate, idle; says "open" on stdout once
 * connected and exits 1 if the connection closes. Certificate, key, CA and URL come in the environment.
 */
const BASELINE_SCRIPT = `
const { WebSocket } = require('ws');
const socket = new WebSocket(process.env.BENCH_URL, {
  cert: process.env.BENCH_CERT, key: process.env.BENCH_KEY, ca: process.env.BENCH_CA,
  headers: { node_id: process.env.BENCH_NODE }, perMessageDeflate: false,
});
socket.on('open', () => process.stdout.write(JSON.stringify({ level: 30, msg: 'open' }) + '\\n'));
socket.on('error', (error) => { process.stderr.write(String(error) + '\\n'); process.exit(1); });
socket.on('close', (code) => { process.stderr.write('closed ' + code + '\\n'); process.exit(1); });
`;

const processes: KedgeProcess[] = [];
let cloud: CloudCoreProcess | undefined;

async function shutdown(): Promise<void> {
  await Promise.all(processes.map((p) => p.stop('SIGTERM', 10_000)));
  await cloud?.stop(5_000);
  await stopAllCloudCores(2_000);
}

/** edgecore settings for the bench: its own node name and directory, edged off, the embedded MQTT broker on a free port. */
function edgeConfig(dir: string, nodeName: string, hub: CloudCoreProcess): string {
  mkdirSync(dir, { recursive: true });
  return writeYaml(join(dir, 'edgecore.yaml'), {
    nodeName,
    dataDir: dir,
    edgeHub: { protocol: 'websocket', server: `127.0.0.1:${hub.ports.websocket}`, httpServer: `https://127.0.0.1:${hub.ports.https}` },
    metrics: { address: '127.0.0.1', port: 0 },
    metaServer: { address: '127.0.0.1', port: 0, podAccess: { port: 0 } },
    eventBus: { internal: { address: '127.0.0.1', port: 0 } },
    edged: { enable: false },
    log: { level: 'info' },
  });
}

interface Subject {
  key: 'raw' | 'tsx' | 'bundle';
  label: string;
  process: KedgeProcess;
  /** the log line that means "connected to the hub" */
  connected: (line: { msg: string }) => boolean;
}

const median = (values: readonly number[]): number => percentile(Float64Array.from(values).sort(), 50);
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

async function main(): Promise<void> {
  const idleSeconds = positiveInteger('idle-seconds', flags['idle-seconds']);
  const samples = positiveInteger('samples', flags.samples);
  const machine = machineInfo();
  const startLoad = loadavg().map((value) => value.toFixed(1)).join(', ');
  progress(`edgecore-memory bench on ${describeMachine(machine)}; load average ${startLoad}`);
  const workDir = benchTempDir('kedge-bench-edgecore-memory-');

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

  // --- cloudcore; keepalive long enough that the idle baseline connection is not swept
  const cloudDir = join(workDir, 'cloud');
  mkdirSync(cloudDir);
  cloud = await startCloudCoreProcess({
    repoRoot,
    dataDir: cloudDir,
    config: loopbackCloudCoreConfig({ keepaliveTimeoutSeconds: 600 }, { kubeAPI: { embedded: { address: '127.0.0.1', port: 0 } } }),
  });
  if (!cloud.ports.websocket || !cloud.ports.https) throw new Error('cloudcore reported no WebSocket or HTTPS hub port');
  progress(`cloudcore pid ${cloud.pid} ready: hub wss://127.0.0.1:${cloud.ports.websocket}`);

  // --- (a) raw baseline: node -e with one ws TLS connection, a certificate signed by cloudcore's CA
  const rawNode = 'bench-mem-raw';
  const tls = await nodeTlsMaterial(await loadOrCreateAuthority(join(cloud.dataDir, 'pki')), rawNode);
  const rawChild = spawn(process.execPath, ['-e', BASELINE_SCRIPT], {
    cwd: repoRoot,
    env: {
      ...process.env,
      BENCH_URL: `wss://127.0.0.1:${cloud.ports.websocket}/e632aba927ea4ac2b575ec1603d56f10/${rawNode}/events`,
      BENCH_CERT: tls.cert,
      BENCH_KEY: tls.key,
      BENCH_CA: tls.ca,
      BENCH_NODE: rawNode,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const subjects: Subject[] = [{ key: 'raw', label: '(a) raw: `node -e`, one idle `ws` TLS client', process: new KedgeProcess('raw ws client', rawChild), connected: (l) => l.msg === 'open' }];

  // --- (b) edgecore from source under tsx, (c) edgecore from the tarball, each with its own token
  const isConnected = (l: { msg: string }): boolean => l.msg === 'connected to cloudcore';
  const tsxConfig = edgeConfig(join(workDir, 'edge-tsx'), 'bench-mem-tsx', cloud);
  subjects.push({ key: 'tsx', label: '(b) edgecore from source under tsx', process: startApp('edgecore', ['--config', tsxConfig, '--token-file', writeTokenFile(join(workDir, 'edge-tsx'), await issueToken(cloud, ['--node', 'bench-mem-tsx']))]), connected: isConnected });
  const bundleConfig = edgeConfig(join(workDir, 'edge-bundle'), 'bench-mem-bundle', cloud);
  const bundleChild = spawn(join(unpacked, 'bin', 'edgecore'), ['--config', bundleConfig, '--token-file', writeTokenFile(join(workDir, 'edge-bundle'), await issueToken(cloud, ['--node', 'bench-mem-bundle']))], {
    cwd: unpacked,
    // the launcher execs $NODE, so the child's pid is node's
    env: { ...process.env, NODE: process.execPath },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  subjects.push({ key: 'bundle', label: '(c) edgecore from the tarball (esbuild bundle)', process: new KedgeProcess('edgecore (tarball)', bundleChild), connected: isConnected });
  processes.push(...subjects.map((s) => s.process));

  for (const subject of subjects) {
    await subject.process.waitForLog(subject.connected, 'connected', CONNECT_TIMEOUT_MS);
    if (subject.key !== 'raw') {
      const ready = await subject.process.waitForLog((l) => l.msg === 'edgecore ready', 'edgecore ready', CONNECT_TIMEOUT_MS);
      const mqtt = (ready.ports as { mqtt?: number } | undefined)?.mqtt;
      if (!mqtt) throw new Error(`${subject.process.name}: no embedded MQTT broker port in "edgecore ready"`);
    }
    progress(`${subject.process.name} pid ${subject.process.pid} connected`);
  }
  await waitFor(() => subjects.every((s) => s.process.running), 'all connected');

  progress(`idle for ${idleSeconds} s, then ${samples} samples ${SAMPLE_INTERVAL_MS / 1000} s apart`);
  await sleep(idleSeconds * 1000);
  const rss = new Map<Subject['key'], number[]>(subjects.map((s) => [s.key, []]));
  for (let i = 0; i < samples; i++) {
    if (i > 0) await sleep(SAMPLE_INTERVAL_MS);
    for (const subject of subjects) {
      if (!subject.process.running) throw new Error(`${subject.process.name} exited while idle:\n${subject.process.describe()}`);
      rss.get(subject.key)!.push(residentBytes(subject.process.pid));
    }
  }
  // every edgecore must still be connected: no reconnect after the first connection
  for (const subject of subjects) {
    const connects = subject.process.logs.filter(subject.connected).length;
    if (connects !== 1) throw new Error(`${subject.process.name} connected ${connects} times while measured`);
  }
  const results = subjects.map((s) => ({ ...s, median: median(rss.get(s.key)!), min: Math.min(...rss.get(s.key)!), max: Math.max(...rss.get(s.key)!) }));
  for (const r of results) progress(`${r.process.name}: median RSS ${formatBytes(r.median)} (${formatBytes(r.min)}–${formatBytes(r.max)})`);
  report({ machine, startLoad, idleSeconds, samples, tarball, results });
}

function report(r: {
  machine: ReturnType<typeof machineInfo>;
  startLoad: string;
  idleSeconds: number;
  samples: number;
  tarball: string;
  results: { key: Subject['key']; label: string; median: number; min: number; max: number }[];
}): void {
  const raw = r.results.find((x) => x.key === 'raw')!;
  const headers = ['process', 'median VmRSS', 'min–max of samples', '÷ raw'];
  const rows = r.results.map((x) => [x.label, mb(x.median), `${mb(x.min)} – ${mb(x.max)}`, x.key === 'raw' ? '1.00×' : formatRatio(x.median / raw.median)]);
  const tsx = r.results.find((x) => x.key === 'tsx')!;
  const bundle = r.results.find((x) => x.key === 'bundle')!;
  process.stdout.write(summaryTitle('edgecore-memory', r.machine));
  process.stdout.write(`${textTable(headers, rows)}\n\ntarball ÷ tsx: ${formatRatio(bundle.median / tsx.median)}\n`);

  const body = [
    ...sectionHeading('edgecore memory: tarball bundle vs tsx', r.machine, benchCommand('edgecore-memory'), [
      `- Load average when it started: ${r.startLoad} (other work on the machine competes for the cores)`,
    ]),
    'One cloudcore child process (embedded API server, WebSocket hub on 127.0.0.1) and three processes connected',
    'to it at the same time: **(a)** the raw baseline, a plain `node -e` process (no tsx) holding one idle `ws`',
    'TLS WebSocket client connection to the hub with a node certificate signed by cloudcore\'s CA, i.e. the',
    'floor of a Node.js process with a TLS socket; **(b)** edgecore from source, `node --import tsx',
    'apps/edgecore/src/main.ts` as the e2e harness runs it; **(c)** edgecore from the gateway tarball',
    '(`tools/package/edgecore-tarball.ts`, built once in the run, `bin/edgecore` → `node lib/edgecore.mjs`, the',
    'esbuild bundle). (b) and (c) each join with their own node name and `kedgeadm token` join token, with',
    'default timers, edged off, MetaServer, metrics and the embedded MQTT broker on, log level info. After all',
    `three are connected they sit idle for ${r.idleSeconds} s; then VmRSS (\`/proc/<pid>/status\`) is read ${r.samples} times`,
    `${SAMPLE_INTERVAL_MS / 1000} s apart and the median is reported.`,
    '',
    markdownTable(headers, rows),
    '',
    `The tarball's edgecore uses ${formatRatio(bundle.median / tsx.median)} the memory of the tsx one (${mb(tsx.median - bundle.median)} less):`,
    'the same code, so the difference is what running from source costs (tsx\'s loader hooks, every file',
    'transpiled at load with its source map, many module records instead of one pre-built file). What is left',
    'above (a) is edgecore itself: its modules, SQLite store, MQTT broker, HTTP servers and timers.',
  ].join('\n');
  writeBenchmarkSection(SECTION, body, flags['dry-run']);
}

// an interrupted run leaves no edge process behind (killed by pid)
process.once('exit', () => {
  for (const p of processes) if (p.running) p.kill('SIGKILL');
});
runBenchmark('edgecore-memory bench', main, {
  shutdown,
  stopping: 'stopping the edge processes and cloudcore',
  failureDetail: () => [...processes.map((p) => p.describe()), cloud?.recentStderr() ?? ''].join('\n'),
});

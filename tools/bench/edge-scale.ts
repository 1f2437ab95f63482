// Benchmark (a script, not a test): how many edges one cloudcore holds, and how it survives them all at
// once. A real cloudcore child process and simulated edges (`SimulatedEdge`, each with its own P-256
// node certificate) spread over several dialer child processes (tools/bench/edge-scale/dialer.ts), so
// what is measured is cloudcore, not the edges.
//   Idle: --edges connections held with keepalives; cloudcore's RSS, V8 heap and external memory before
//   and after, the growth per connection, its CPU while idle (from /proc/<pid>/stat), open files, the
//   time to accept them all, and kedge_cloudhub_connected_nodes. Baseline in the same run: a bare Node
//   https + ws server (mTLS, same certificates) holding the same connections.
//   Storm: --storm edges with their Node, a pod and its configmap each; cloudcore is killed (SIGKILL) and
//   restarted, objects change while the edges are away, then every edge reconnects at once: time to all
//   connected and all exactly converged, and the redundant down messages.
// Writes its section of docs/benchmarks.md. cloudcore needs an open file per edge (and per edge Node with
// a kubelet API port): the benchmark checks `ulimit -n` (raise it with `ulimit -n <n>` before running).
//
//   node --import tsx tools/bench/edge-scale.ts [--edges 10000] [--storm 5000] [--dialers 8] [--idle-seconds 30]
//     [--namespaces 50] [--changes 250] [--skip-baseline] [--cloudcore-node-args='<node flags>'] [--dry-run]
// Another allocator for cloudcore and the raw server (the section names it): prefix the command with
// `LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2` (Debian libjemalloc2) or `MALLOC_ARENA_MAX=2`.
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { prometheusSample, waitFor } from '@kedge/testkit';
import {
  benchCommand,
  benchTempDir,
  describeMachine,
  formatBytes,
  formatInteger,
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
  summaryTitle,
  textTable,
  writeBenchmarkSection,
  type CloudCoreProcess,
} from './bench-kit';
import { desiredState, totalOf, type DiffCount, type MessageCount } from './edge-desired-state';
import { DialerPool } from './edge-scale/dialer-pool';
import { runRawBaseline, type RawBaselineResult } from './edge-scale/raw-baseline';
import { CONFIGMAP, controllerCounters, podBody, type PlannedPod } from './edge-workload';

const SECTION = 'edge-scale';

const flags = parseBenchFlags(import.meta.filename, {
  edges: { type: 'string', default: '10000' },
  storm: { type: 'string', default: '5000' },
  dialers: { type: 'string', default: '8' },
  'idle-seconds': { type: 'string', default: '30' },
  namespaces: { type: 'string', default: '50' },
  changes: { type: 'string', default: '250' },
  'skip-baseline': { type: 'boolean', default: false },
  /** e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" or "--heapsnapshot-signal=SIGUSR2": for finding where a session's cost is */
  'cloudcore-node-args': { type: 'string' },
});
const settings = {
  edges: positiveInteger('edges', flags.edges, true),
  storm: positiveInteger('storm', flags.storm, true),
  dialers: positiveInteger('dialers', flags.dialers),
  idleSeconds: positiveInteger('idle-seconds', flags['idle-seconds']),
  namespaces: positiveInteger('namespaces', flags.namespaces),
  changes: positiveInteger('changes', flags.changes, true),
};
/** edgehub's keepalive interval; cloudcore drops a node silent for its keepaliveTimeoutSeconds (30) */
const EDGE_KEEPALIVE_MS = 15_000;
const PHASE_TIMEOUT_MS = 300_000;
const CONNECT_CONCURRENCY_PER_DIALER = 16;

let pool: DialerPool | undefined;
const epochMs = (): number => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------------------------------------------
// process facts from /proc

/** The soft RLIMIT_NOFILE of this process (children inherit it). */
function openFileLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.split(/\s{2,}/)[1];
  return soft === 'unlimited' || soft === undefined ? Number.POSITIVE_INFINITY : Number(soft);
}

function requireOpenFiles(needed: number): void {
  const limit = openFileLimit();
  if (limit < needed) {
    throw new Error(`ulimit -n is ${limit}; cloudcore needs about ${needed} open files here. Run \`ulimit -n ${needed}\` (up to the hard limit, \`ulimit -Hn\`) first, or pass fewer --edges/--storm`);
  }
}

const openFiles = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

const CLOCK_TICKS_PER_SECOND = 100;

/** user + system CPU seconds of a process so far (/proc/<pid>/stat fields 14 and 15). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** RSS after it stopped moving by more than 1 % between samples a second apart (at most ~20 s). */
async function settledRss(pid: number): Promise<number> {
  let previous = residentBytes(pid);
  for (let i = 0; i < 20; i++) {
    await sleep(1_000);
    const current = residentBytes(pid);
    if (i >= 3 && Math.abs(current - previous) < previous * 0.01) return current;
    previous = current;
  }
  return previous;
}

interface MemoryFacts {
  rss: number;
  heapUsed: number;
  external: number;
}

async function memoryFacts(cloud: CloudCoreProcess): Promise<MemoryFacts> {
  const rss = await settledRss(cloud.pid);
  const text = await (await fetch(`http://127.0.0.1:${cloud.ports.metrics}/metrics`)).text();
  return { rss, heapUsed: prometheusSample(text, 'nodejs_heap_size_used_bytes') ?? Number.NaN, external: prometheusSample(text, 'nodejs_external_memory_bytes') ?? Number.NaN };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function startCloud(dataDir: string, webSocketPort: number, nodeLimit: number): Promise<CloudCoreProcess> {
  const cloud = await startCloudCoreProcess({
    nodeArgs: flags['cloudcore-node-args']?.split(' ').filter((arg) => arg !== '') ?? [],
    repoRoot,
    dataDir,
    readyTimeoutMs: 120_000,
    config: loopbackCloudCoreConfig(
      // loopbackCloudCoreConfig lifts the per-IP connection limits: every simulated edge dials from 127.0.0.1
      { websocket: { enable: true, address: '127.0.0.1', port: webSocketPort }, https: { enable: false }, nodeLimit },
      // simulated edges renew no leases: the lifecycle controller would mark their Nodes Unknown
      { kubeAPI: { embedded: { address: '127.0.0.1', port: 0 } }, nodeLifecycle: { enable: false } },
    ),
  });
  if (cloud.ports.websocket === undefined || cloud.ports.metrics === undefined) throw new Error('cloudcore ready without a WebSocket hub or metrics');
  return cloud;
}

const connectedNodes = async (cloud: CloudCoreProcess): Promise<number> => (await controllerCounters(cloud.ports.metrics!)).connected;

// ---------------------------------------------------------------------------------------------------
// idle connections

interface IdleResult {
  connections: number;
  before: MemoryFacts;
  after: MemoryFacts;
  acceptSeconds: number;
  /** cloudcore CPU time spent from the first dial until all were connected, per connection */
  acceptCpuMs: number;
  cpuPercent: number;
  openFilesBefore: number;
  openFilesAfter: number;
  connectedMetric: number;
  remoteCloses: number;
  retries: number;
}

async function runIdle(count: number): Promise<IdleResult> {
  requireOpenFiles(count + 1_000);
  progress(`idle: starting cloudcore for ${formatInteger(count)} edges, ${settings.dialers} dialer processes`);
  const dataDir = benchTempDir('kedge-bench-scale-idle-');
  const cloud = await startCloud(dataDir, await freePort(), count + 100);
  const names = Array.from({ length: count }, (_, i) => `idle-${String(i).padStart(5, '0')}`);
  pool = new DialerPool(names, settings.dialers);
  try {
    let started = performance.now();
    await pool.init(`wss://127.0.0.1:${cloud.ports.websocket}`, join(dataDir, 'pki'), { keepaliveMs: EDGE_KEEPALIVE_MS, recordMessages: false });
    progress(`  ${formatInteger(count)} node certificates issued in the dialers in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const before = await memoryFacts(cloud);
    const openFilesBefore = openFiles(cloud.pid);
    progress(`  cloudcore pid ${cloud.pid}: RSS ${formatBytes(before.rss)}, heap ${formatBytes(before.heapUsed)}; dialing`);
    started = performance.now();
    const acceptCpuStart = cpuSeconds(cloud.pid);
    // cloudcore's CPU share with each progress line: a count that stops rising while cloudcore gets no more
    // than its keepalive work needs means a starved process (a shared machine), not a limit of its own
    let tickCpu = cpuSeconds(cloud.pid);
    let tickAt = performance.now();
    const ticker = setInterval(() => {
      const cpu = cpuSeconds(cloud.pid);
      const now = performance.now();
      const percent = ((cpu - tickCpu) / ((now - tickAt) / 1000)) * 100;
      [tickCpu, tickAt] = [cpu, now];
      void connectedNodes(cloud).then((n) => progress(`  ${formatInteger(n)}/${formatInteger(count)} connected; cloudcore CPU ${percent.toFixed(0)} % of a core`), () => undefined);
    }, 5_000);
    try {
      await pool.connect(CONNECT_CONCURRENCY_PER_DIALER);
    } finally {
      clearInterval(ticker);
    }
    await waitFor(async () => (await connectedNodes(cloud)) === count, `kedge_cloudhub_connected_nodes = ${count}`, { timeoutMs: 60_000 });
    const acceptSeconds = (performance.now() - started) / 1000;
    const acceptCpuMs = ((cpuSeconds(cloud.pid) - acceptCpuStart) * 1000) / count;
    progress(`  all ${formatInteger(count)} connected in ${acceptSeconds.toFixed(1)} s (cloudcore CPU ${acceptCpuMs.toFixed(2)} ms per connection); letting cloudcore settle`);
    await sleep(EDGE_KEEPALIVE_MS);
    const cpuStart = cpuSeconds(cloud.pid);
    const cpuStartedAt = performance.now();
    await sleep(settings.idleSeconds * 1000);
    const cpuPercent = ((cpuSeconds(cloud.pid) - cpuStart) / ((performance.now() - cpuStartedAt) / 1000)) * 100;
    const after = await memoryFacts(cloud);
    const status = await pool.status();
    const result: IdleResult = {
      connections: count,
      before,
      after,
      acceptSeconds,
      acceptCpuMs,
      cpuPercent,
      openFilesBefore,
      openFilesAfter: openFiles(cloud.pid),
      connectedMetric: await connectedNodes(cloud),
      remoteCloses: status.remoteCloses,
      retries: status.retries,
    };
    progress(
      `  RSS ${formatBytes(after.rss)} (${formatBytes((after.rss - before.rss) / count)} per connection), heap +${formatBytes((after.heapUsed - before.heapUsed) / count)}, ` +
        `external +${formatBytes((after.external - before.external) / count)} per connection; idle CPU ${cpuPercent.toFixed(1)} % of a core; ` +
        `${status.remoteCloses} closed by the cloud`,
    );
    if (status.remoteCloses > 0) throw new Error(`${status.remoteCloses} idle connections were closed by cloudcore (last: ${status.lastError ?? 'n/a'})`);
    if (status.connected !== count || result.connectedMetric !== count) throw new Error(`after the idle window ${status.connected} edges hold a link and cloudcore counts ${result.connectedMetric}, not ${count}`);
    return result;
  } finally {
    await pool.stop();
    pool = undefined;
    await cloud.stop();
  }
}

// ---------------------------------------------------------------------------------------------------
// reconnect storm after a cloudcore restart

interface StormResult {
  edges: number;
  objectsPerEdge: number;
  setupSeconds: number;
  restartSeconds: number;
  apiChanges: { deleted: number; created: number; updated: number };
  ideal: DiffCount;
  connectedSeconds: number;
  convergedSeconds: number;
  messages: MessageCount;
  cloudSent: number;
  cloudResent: number;
  retries: number;
  /** cloudcore CPU time from the first dial until all converged, per edge */
  cpuMsPerEdge: number;
  peakRss: number;
}

const stormNode = (i: number): string => `storm-${String(i).padStart(5, '0')}`;
const stormNamespace = (i: number): string => `storm-${String(i).padStart(3, '0')}`;

function coreApi(cloud: CloudCoreProcess): CoreV1Api {
  if (cloud.kubeconfig === undefined) throw new Error('cloudcore ready without an embedded API server');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cloud.kubeconfig);
  return kubeConfig.makeApiClient(CoreV1Api);
}

async function quiesce(cloud: CloudCoreProcess): Promise<void> {
  await waitFor(async () => (await controllerCounters(cloud.ports.metrics!)).queued === 0, 'cloudcore queues to drain', { timeoutMs: PHASE_TIMEOUT_MS });
}

/**
 * Waits until every edge holds its desired set. The sets are recomputed from the API every 15 s while some
 * edge lacks its own: the cloud may change an object meanwhile (after a restart a node whose kubelet API port
 * was taken on this machine gets another, and its Node is written again), and the edges must follow it.
 */
async function waitConverged(what: string, count: number, core: CoreV1Api, names: readonly string[]): Promise<Awaited<ReturnType<DialerPool['convergence']>>> {
  let last = await pool!.convergence();
  let refreshedAt = performance.now();
  await waitFor(
    async () => {
      last = await pool!.convergence();
      if (last.converged !== count && performance.now() - refreshedAt > 15_000) {
        await pool!.expect(await desiredState(core, names), true);
        refreshedAt = performance.now();
        last = await pool!.convergence();
      }
      return last.converged === count;
    },
    what,
    { timeoutMs: PHASE_TIMEOUT_MS, intervalMs: 1_000 },
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}: ${formatInteger(last.converged)}/${formatInteger(count)} converged; ${last.firstMismatch ?? ''}`);
  });
  return last;
}

async function runStorm(count: number): Promise<StormResult> {
  requireOpenFiles(2 * count + 1_000);
  progress(`storm: starting cloudcore for ${formatInteger(count)} edges`);
  const dataDir = benchTempDir('kedge-bench-scale-storm-');
  const webSocketPort = await freePort();
  let cloud = await startCloud(dataDir, webSocketPort, count + 100);
  let core = coreApi(cloud);
  const names = Array.from({ length: count }, (_, i) => stormNode(i));
  const namespaces = Array.from({ length: Math.min(settings.namespaces, count) }, (_, i) => stormNamespace(i));
  const pods: PlannedPod[] = names.map((node, i) => ({ name: `pod-${String(i).padStart(5, '0')}`, namespace: namespaces[i % namespaces.length]!, node }));
  pool = new DialerPool(names, settings.dialers);
  const setupStart = performance.now();
  await pool.init(`wss://127.0.0.1:${webSocketPort}`, join(dataDir, 'pki'), { keepaliveMs: EDGE_KEEPALIVE_MS, recordMessages: true });
  await pool.connect(CONNECT_CONCURRENCY_PER_DIALER);
  progress(`  ${formatInteger(count)} edges connected; registering their Nodes`);
  const registerStart = performance.now();
  const registerCpuStart = cpuSeconds(cloud.pid);
  await pool.register(4);
  const registerSeconds = (performance.now() - registerStart) / 1000;
  progress(`  ${formatInteger(count)} Nodes registered in ${registerSeconds.toFixed(1)} s (${(count / registerSeconds).toFixed(0)}/s; cloudcore CPU ${(((cpuSeconds(cloud.pid) - registerCpuStart) * 1000) / count).toFixed(2)} ms per Node)`);
  await mapLimit(namespaces, 8, async (namespace) => {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: CONFIGMAP, namespace }, data: { LOG_LEVEL: 'info', GENERATION: '1' } } });
  });
  progress(`  creating ${formatInteger(pods.length)} pods, one per edge, in ${namespaces.length} namespaces`);
  let created = 0;
  await mapLimit(pods, 16, async (pod) => {
    await core.createNamespacedPod({ namespace: pod.namespace, body: podBody(pod) });
    if (++created % 1_000 === 0) progress(`    ${formatInteger(created)} pods created`);
  });
  let desired = await desiredState(core, names);
  await pool.expect(desired);
  await waitConverged('every edge to hold its Node, pod and configmap', count, core, names);
  await quiesce(cloud);
  const setupSeconds = (performance.now() - setupStart) / 1000;
  const objectsPerEdge = Math.max(...[...desired.values()].map((set) => set.size));
  progress(`  set up in ${setupSeconds.toFixed(1)} s: every edge holds exactly its ${objectsPerEdge} objects; killing cloudcore (SIGKILL)`);

  // --- kill, restart, change while the edges are away --------------------------------------------------
  process.kill(cloud.pid, 'SIGKILL');
  await cloud.exited;
  await cloud.stop();
  await waitFor(async () => (await pool!.status()).connected === 0, 'every edge to see its link gone', { timeoutMs: 60_000 });
  const restartStart = performance.now();
  cloud = await startCloud(dataDir, webSocketPort, count + 100);
  const restartSeconds = (performance.now() - restartStart) / 1000;
  core = coreApi(cloud);
  progress(`  cloudcore restarted in ${restartSeconds.toFixed(1)} s (pid ${cloud.pid}); changing objects while the edges are away`);
  // the restarted API must show exactly what the killed one showed (every acknowledged write durable)
  const afterRestart = await desiredState(core, names);
  for (const [node, want] of desired) {
    for (const [key, version] of want) {
      if (afterRestart.get(node)?.get(key) !== version) throw new Error(`after the restart the API shows ${key} at ${afterRestart.get(node)?.get(key) ?? 'nothing'}, before the kill at ${version}`);
    }
  }
  const changes = Math.min(settings.changes, count);
  const deleted = pods.slice(0, changes);
  const added: PlannedPod[] = Array.from({ length: changes }, (_, k) => ({ name: `pod-new-${String(k).padStart(5, '0')}`, namespace: namespaces[(k * 7) % namespaces.length]!, node: names[(k * 13 + 5) % count]! }));
  const updated = namespaces.slice(0, Math.min(changes, namespaces.length, 5));
  await mapLimit(deleted, 16, (pod) => core.deleteNamespacedPod({ namespace: pod.namespace, name: pod.name, gracePeriodSeconds: 0 }));
  await mapLimit(added, 16, (pod) => core.createNamespacedPod({ namespace: pod.namespace, body: podBody(pod) }));
  await mapLimit(updated, 8, (namespace) =>
    core.replaceNamespacedConfigMap({ name: CONFIGMAP, namespace, body: { metadata: { name: CONFIGMAP, namespace }, data: { LOG_LEVEL: 'debug', GENERATION: '2' } } }),
  );
  desired = await desiredState(core, names);
  const ideal = await pool.expect(desired);
  const countersBefore = await controllerCounters(cloud.ports.metrics!);
  progress(`  ${deleted.length} pods deleted, ${added.length} created, ${updated.length} configmaps updated: the edges lack ${formatInteger(totalOf(ideal))} object versions; all reconnect at once`);

  // --- the storm --------------------------------------------------------------------------------------
  const stormStart = epochMs();
  const stormCpuStart = cpuSeconds(cloud.pid);
  let peakRss = residentBytes(cloud.pid);
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, residentBytes(cloud.pid));
    void connectedNodes(cloud).then((n) => progress(`    ${formatInteger(n)}/${formatInteger(count)} connected`), () => undefined);
  }, 2_000);
  let converged: Awaited<ReturnType<DialerPool['convergence']>>;
  try {
    await pool.connect(0);
    converged = await waitConverged('every edge to converge after the storm', count, core, names);
  } finally {
    clearInterval(sampler);
  }
  const connectedSeconds = (converged.lastConnectedAt - stormStart) / 1000;
  const convergedSeconds = (converged.lastConvergedAt - stormStart) / 1000;
  // cloudcore's CPU from the first dial until the last edge converged (to now: a little more), per edge
  const stormCpuMs = ((cpuSeconds(cloud.pid) - stormCpuStart) * 1000) / count;
  const stormStatus = await pool.status();
  progress(
    `  all connected after ${connectedSeconds.toFixed(1)} s, all converged after ${convergedSeconds.toFixed(1)} s; cloudcore CPU ${stormCpuMs.toFixed(2)} ms per edge; ` +
      `${formatInteger(stormStatus.retries)} dials retried (last: ${stormStatus.lastError ?? 'none'}); verifying`,
  );
  await quiesce(cloud);
  await sleep(1_000);
  // nothing changed since: the API still shows what the edges hold
  const again = await desiredState(core, names);
  await pool.expect(again);
  const verified = await pool.convergence();
  if (verified.converged !== count) throw new Error(`after the storm ${verified.converged}/${count} edges hold their desired sets: ${verified.firstMismatch ?? ''}`);
  const messages = await pool.messages();
  const countersAfter = await controllerCounters(cloud.ports.metrics!);
  const status = await pool.status();
  await pool.stop();
  pool = undefined;
  await cloud.stop();
  return {
    edges: count,
    objectsPerEdge,
    setupSeconds,
    restartSeconds,
    apiChanges: { deleted: deleted.length, created: added.length, updated: updated.length },
    ideal,
    connectedSeconds,
    convergedSeconds,
    messages,
    cloudSent: countersAfter.sent - countersBefore.sent,
    cloudResent: countersAfter.resent - countersBefore.resent,
    retries: status.retries,
    cpuMsPerEdge: stormCpuMs,
    peakRss,
  };
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const machine = machineInfo();
  const command = benchCommand('edge-scale');
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  // children inherit the environment: `LD_PRELOAD=<libjemalloc.so.2>` or `MALLOC_ARENA_MAX=2` before the command tries another
  const allocatorEnv = ['LD_PRELOAD', 'MALLOC_ARENA_MAX', 'MALLOC_TRIM_THRESHOLD_'].filter((name) => process.env[name]).map((name) => `${name}=${process.env[name]}`);
  const allocator = allocatorEnv.length === 0 ? 'glibc malloc, defaults' : `\`${allocatorEnv.join(' ')}\``;
  progress(`edge-scale on ${describeMachine(machine)}; load average ${load}; ulimit -n ${openFileLimit()}`);
  const idle = settings.edges > 0 ? await runIdle(settings.edges) : undefined;
  const raw: RawBaselineResult | undefined = settings.edges > 0 && !flags['skip-baseline'] ? await runRawBaseline(settings.edges, settings.dialers, settings.idleSeconds) : undefined;
  const storm = settings.storm > 0 ? await runStorm(settings.storm) : undefined;

  const perConnection = (before: number, after: number, n: number): string => formatBytes((after - before) / n);
  const idleHeaders = ['server', 'connections', 'accept all', 'CPU per accept', 'RSS before → after', 'RSS per connection', 'V8 heap per connection', 'external per connection', 'idle CPU (of one core)', 'open files', 'connected_nodes'];
  const idleRows: string[][] = [];
  if (idle) {
    idleRows.push([
      'kedge cloudcore',
      formatInteger(idle.connections),
      `${idle.acceptSeconds.toFixed(1)} s`,
      `${idle.acceptCpuMs.toFixed(2)} ms`,
      `${formatBytes(idle.before.rss)} → ${formatBytes(idle.after.rss)}`,
      perConnection(idle.before.rss, idle.after.rss, idle.connections),
      perConnection(idle.before.heapUsed, idle.after.heapUsed, idle.connections),
      perConnection(idle.before.external, idle.after.external, idle.connections),
      `${idle.cpuPercent.toFixed(1)} %`,
      `${formatInteger(idle.openFilesBefore)} → ${formatInteger(idle.openFilesAfter)}`,
      formatInteger(idle.connectedMetric),
    ]);
  }
  if (raw) {
    idleRows.push([
      'raw https + ws',
      formatInteger(raw.connections),
      `${raw.acceptSeconds.toFixed(1)} s`,
      `${raw.acceptCpuMs.toFixed(2)} ms`,
      `${formatBytes(raw.before.rss)} → ${formatBytes(raw.after.rss)}`,
      perConnection(raw.before.rss, raw.after.rss, raw.connections),
      perConnection(raw.before.heapUsed, raw.after.heapUsed, raw.connections),
      perConnection(raw.before.external, raw.after.external, raw.connections),
      `${raw.cpuPercent.toFixed(1)} %`,
      `${formatInteger(raw.openFilesBefore)} → ${formatInteger(raw.openFilesAfter)}`,
      'n/a',
    ]);
  }
  const stormHeaders = ['edges', 'objects per edge', 'changes while away (ideal)', 'restart to ready', 'all connected', 'all converged', 'cloudcore CPU per edge', 'down messages', 'redundant', 'cloud sent / resent', 'retries (dial, register)', 'peak RSS', 'verified'];
  const stormRows = storm
    ? [
        [
          formatInteger(storm.edges),
          String(storm.objectsPerEdge),
          `${formatInteger(totalOf(storm.ideal))} (${storm.ideal.insert} insert, ${storm.ideal.update} update, ${storm.ideal.delete} delete)`,
          `${storm.restartSeconds.toFixed(1)} s`,
          `${storm.connectedSeconds.toFixed(1)} s`,
          `${storm.convergedSeconds.toFixed(1)} s`,
          `${storm.cpuMsPerEdge.toFixed(2)} ms`,
          `${formatInteger(storm.messages.total)} (${storm.messages.byOperation.insert} insert, ${storm.messages.byOperation.update} update, ${storm.messages.byOperation.delete} delete)`,
          formatInteger(storm.messages.redundant),
          `${formatInteger(storm.cloudSent)} / ${formatInteger(storm.cloudResent)}`,
          formatInteger(storm.retries),
          formatBytes(storm.peakRss),
          'exact',
        ],
      ]
    : [];

  process.stdout.write(summaryTitle('edge-scale', machine));
  if (idleRows.length > 0) process.stdout.write(`idle connections\n${textTable(idleHeaders, idleRows)}\n\n`);
  if (storm) process.stdout.write(`reconnect storm\n${textTable(stormHeaders, stormRows)}\n`);

  const body = [
    ...sectionHeading('Edge scale: idle connections and the reconnect storm', machine, command, [`- Load average when it started: ${load}`, `- Allocator of cloudcore and the raw server: ${allocator}`]),
    `A real cloudcore child process (\`apps/cloudcore/src/main.ts\` under tsx, embedded API server, WebSocket hub on`,
    `127.0.0.1, node lifecycle off because simulated edges renew no leases) and simulated edges`,
    `(\`SimulatedEdge\` of \`@kedge/testkit\`: real protocol, real wss with mTLS, each its own P-256 node certificate`,
    `signed by cloudcore's CA) spread over ${settings.dialers} dialer child processes (\`tools/bench/edge-scale/dialer.ts\`), so the`,
    'edges do not share cloudcore\'s event loop; on 2 cores they still share its CPU. Each edge sends a keepalive',
    `every ${EDGE_KEEPALIVE_MS / 1000} s as edgehub does, and both ends ping at the transport level every 15 s. Every edge dials from`,
    '127.0.0.1, so the per-IP connection limits are lifted in the benchmark\'s config (`cloudHub.connectionLimits`);',
    'the defaults are unchanged. cloudcore needs an open file per connection: run with `ulimit -n` above the',
    'edge count (the script checks it).',
    '',
    ...(idle
      ? [
          '### Idle connections',
          '',
          'RSS is cloudcore\'s VmRSS from /proc once it stopped moving (before: ready, certificates issued, no edges;',
          `after: all connected, then ${EDGE_KEEPALIVE_MS / 1000} s of settling and the ${settings.idleSeconds} s idle window). V8 heap and external are`,
          'cloudcore\'s own `nodejs_heap_size_used_bytes` / `nodejs_external_memory_bytes` (they include garbage not yet',
          'collected). Idle CPU is cloudcore\'s user + system time over the idle window from /proc/<pid>/stat, in per cent',
          'of one core: keepalives up, transport pings both ways, the keepalive sweep. *Accept all* is from the first dial',
          `to \`kedge_cloudhub_connected_nodes\` reaching the count, with ${CONNECT_CONCURRENCY_PER_DIALER} dials in flight per dialer; *CPU per accept* is the server's CPU time over that span divided by the connections (TLS handshake, upgrade, session), which a loaded machine does not inflate as it does the wall time. **raw https + ws** is a bare`,
          'Node `https` server with a `ws` `WebSocketServer` (mTLS with the same kind of certificates, `perMessageDeflate` off)',
          'holding the same number of connections from the same dialers, answering nothing: the floor for a TLS',
          'WebSocket in Node.js.',
          '',
          markdownTable(idleHeaders, idleRows),
          '',
        ]
      : []),
    ...(storm
      ? [
          '### Reconnect storm after a cloudcore restart',
          '',
          `${formatInteger(storm.edges)} edges connect and register their Nodes; ${settings.namespaces} namespaces with a configmap; one pod per edge`,
          '(taking its environment from its namespace\'s configmap) created through the API; every edge must hold exactly',
          'its Node, pod and configmap at the API\'s resourceVersions. Then cloudcore is killed with SIGKILL and started',
          `again on the same data directory and port (*restart to ready*); while the edges are away ${storm.apiChanges.deleted} pods are deleted,`,
          `${storm.apiChanges.created} created and ${storm.apiChanges.updated} configmaps updated through the API. Then **every edge reconnects at once**`,
          '(each retrying with jittered backoff from 0.5 s if refused), sending its inventory as edgecore does. *All',
          'connected*: the last dial done and inventory answered; *all converged*: the last edge holds exactly its desired',
          'set (recomputed from the API); both from the moment the reconnect began. After the cloud queues drained the',
          'desired sets are recomputed and every edge must match exactly. *Redundant* down messages changed nothing at the',
          'edge (a version it already held, a delete of something it did not have); *ideal* is the per-edge changes',
          'between what the edges held and what they must hold.',
          '',
          markdownTable(stormHeaders, stormRows),
          '',
        ]
      : []),
  ].join('\n');
  writeBenchmarkSection(SECTION, body, flags['dry-run']);
}

runBenchmark('edge-scale', main, {
  shutdown: async () => {
    await pool?.stop();
    await stopAllCloudCores();
  },
  stopping: 'stopping the dialers and cloudcore',
});

// Benchmark (a script, not a test): the scheduler and the workload controllers against the embedded API
// server, both in this process. N Ready nodes; a Deployment of R replicas: time until every pod is bound
// (scheduler throughput) and until `rollout status` would finish (fake kubelets report each bound pod
// Running+Ready); then a new image: time until the rolling update completes; then a DaemonSet on every
// node: time until each node has its pod. Writes its section of docs/benchmarks.md.
//
//   node --import tsx tools/bench/workloads.ts [--nodes 50] [--replicas 500] [--dry-run]
import { loadavg } from 'node:os';
import { AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '@kedge/apiserver';
import { createLogger, createMetricsRegistry } from '@kedge/telemetry';
import { waitFor } from '@kedge/testkit';
import { startWorkloadControllers, type WorkloadControllers } from '@kedge/workload-controllers';
import {
  benchCommand,
  benchTempDir,
  describeMachine,
  formatInteger,
  formatMs,
  machineInfo,
  mapLimit,
  markdownTable,
  parseBenchFlags,
  positiveInteger,
  progress,
  runBenchmark,
  sectionHeading,
  summaryTitle,
  textTable,
  writeBenchmarkSection,
} from './bench-kit';

const SECTION = 'workloads';
const flags = parseBenchFlags(import.meta.filename, {
  nodes: { type: 'string', default: '50' },
  replicas: { type: 'string', default: '500' },
});
const NODES = positiveInteger('nodes', flags.nodes);
const REPLICAS = positiveInteger('replicas', flags.replicas);
const TIMEOUT_MS = 600_000;
const mergePatch = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const stamp = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

let server: ApiServer | undefined;
let controllers: WorkloadControllers | undefined;
let kubeletTimer: NodeJS.Timeout | undefined;

function template(image: string) {
  return { metadata: { labels: { app: 'bench' } }, spec: { nodeSelector: { bench: 'yes' }, containers: [{ name: 'app', image }] } };
}

/** Fake kubelets: every bound pod that is not Running yet becomes Running+Ready; graceful deletes are confirmed. */
function startKubelets(core: CoreV1Api): void {
  let running = false;
  kubeletTimer = setInterval(() => {
    if (running) return;
    running = true;
    void (async () => {
      const pods = (await core.listNamespacedPod({ namespace: 'default' })).items as V1Pod[];
      await mapLimit(pods, 16, async (pod) => {
        const { name = '', namespace = 'default' } = pod.metadata ?? {};
        if (!pod.spec?.nodeName) return;
        if (pod.metadata?.deletionTimestamp !== undefined) await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
        else if (pod.status?.phase !== 'Running') {
          const conditions = [{ type: 'Ready', status: 'True', lastTransitionTime: stamp() }];
          await core.patchNamespacedPodStatus({ name, namespace, body: { status: { phase: 'Running', conditions } } }, mergePatch()).catch(() => undefined);
        }
      });
    })().finally(() => (running = false));
  }, 100);
}

async function timed(what: string, condition: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  await waitFor(condition, what, { timeoutMs: TIMEOUT_MS, intervalMs: 100 });
  const ms = performance.now() - started;
  progress(`${what}: ${formatMs(ms)}`);
  return ms;
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const startLoad = loadavg().map((value) => value.toFixed(1)).join(', ');
  progress(`workloads bench on ${describeMachine(machine)}: ${NODES} nodes, ${REPLICAS} replicas`);
  const logger = createLogger({ name: 'workloads-bench', level: 'warn' });
  server = await startApiServer({ dataDir: benchTempDir('kedge-bench-workloads-'), port: 0, logger });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(server.adminKubeconfigPath);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  controllers = startWorkloadControllers({ kubeConfig, logger, registry: createMetricsRegistry() });
  await controllers.ready;

  const names = Array.from({ length: NODES }, (_, i) => `bench-node-${String(i).padStart(4, '0')}`);
  await mapLimit(names, 16, async (name) => {
    await core.createNode({ body: { metadata: { name, labels: { bench: 'yes' } } } });
    await core.patchNodeStatus(
      { name, body: { status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: stamp(), lastTransitionTime: stamp() }], allocatable: { cpu: '4', memory: '8Gi', pods: '110' } } } },
      mergePatch(),
    );
  });
  progress(`${NODES} nodes Ready`);
  startKubelets(core);

  const deployment = { metadata: { name: 'bench' }, spec: { replicas: REPLICAS, selector: { matchLabels: { app: 'bench' } }, template: template('busybox:1.36') } };
  const created = performance.now();
  await apps.createNamespacedDeployment({ namespace: 'default', body: deployment as never });
  const podsOf = async () => (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=bench' })).items;
  const bound = await timed(`${REPLICAS} pods bound`, async () => (await podsOf()).filter((pod) => pod.spec?.nodeName).length >= REPLICAS);
  const status = async () => (await apps.readNamespacedDeployment({ name: 'bench', namespace: 'default' })).status;
  const complete = async (): Promise<boolean> => {
    const s = await status();
    return s?.updatedReplicas === REPLICAS && s.replicas === REPLICAS && s.availableReplicas === REPLICAS;
  };
  const rolledOut = await timed('rollout complete', complete);
  const totalFirst = bound + rolledOut;
  const perNode = new Map<string, number>();
  for (const pod of await podsOf()) perNode.set(pod.spec?.nodeName ?? '', (perNode.get(pod.spec?.nodeName ?? '') ?? 0) + 1);
  const spread = `${Math.min(...perNode.values())}–${Math.max(...perNode.values())}`;

  await apps.patchNamespacedDeployment({ name: 'bench', namespace: 'default', body: { spec: { template: template('busybox:1.37') } } }, mergePatch());
  await waitFor(async () => ((await status())?.updatedReplicas ?? REPLICAS) < REPLICAS, 'the update to start', { timeoutMs: TIMEOUT_MS });
  const rolling = await timed('rolling update complete', complete);

  const daemonSet = { metadata: { name: 'bench-agent' }, spec: { selector: { matchLabels: { app: 'bench-agent' } }, template: { metadata: { labels: { app: 'bench-agent' } }, spec: { containers: [{ name: 'agent', image: 'busybox:1.36' }] } } } };
  await apps.createNamespacedDaemonSet({ namespace: 'default', body: daemonSet as never });
  const daemon = await timed(`daemon pod on each of ${NODES} nodes`, async () => {
    const s = (await apps.readNamespacedDaemonSet({ name: 'bench-agent', namespace: 'default' })).status;
    return s?.desiredNumberScheduled === NODES && s.numberAvailable === NODES;
  });
  progress(`created at ${formatMs(performance.now() - created)} since the Deployment`);

  const rows = [
    [`Deployment of ${formatInteger(REPLICAS)}: every pod bound`, formatMs(bound), `${formatInteger(Math.round((REPLICAS / bound) * 1000))} pods/s; ${spread} pods per node`],
    [`Deployment of ${formatInteger(REPLICAS)}: rollout complete`, formatMs(totalFirst), 'from create, fake kubelets marking pods Ready'],
    ['new image: rolling update complete', formatMs(rolling), 'maxSurge 25 %, maxUnavailable 25 %'],
    [`DaemonSet on ${formatInteger(NODES)} nodes: all available`, formatMs(daemon), ''],
  ];
  const headers = ['step', 'time', 'note'];
  process.stdout.write(summaryTitle('workloads', machine) + textTable(headers, rows) + '\n');
  const body = [
    ...sectionHeading('Workload controllers and scheduler', machine, benchCommand('workloads'), [
      `- Setup: embedded API server and the controllers in one process, ${NODES} Ready nodes, fake kubelets polling every 100 ms`,
      `- Load average when it started: ${startLoad} (other work on the machine competes for the cores)`,
    ]),
    markdownTable(headers, rows),
    '',
    'The fake kubelets poll, so up to ~100 ms per step is theirs. Every binding is one `pods/binding` POST',
    '(two fsynced writes: `spec.nodeName`, then the PodScheduled condition) plus a `Scheduled` Event; the',
    'scheduler decides one pod at a time but keeps up to 8 bindings in flight. The API server, its watches',
    'to the five informers and the controllers share one event loop, which bounds the rate here.',
  ].join('\n');
  writeBenchmarkSection(SECTION, body, flags['dry-run']);
}

async function shutdown(): Promise<void> {
  if (kubeletTimer) clearInterval(kubeletTimer);
  await controllers?.close();
  await server?.close();
}

runBenchmark('workloads bench', main, { shutdown, stopping: 'stopping the controllers and the API server' });

// Benchmark (a script, not a test): the swarm simulator. A real cloudcore child process (embedded API
// server, CloudHub on WebSocket, EdgeController) and N simulated edges (`SimulatedEdge` from
// @kedge/testkit: real protocol, real WebSocket, a real node certificate each, in this process).
// Measures cloud→edge fan-out latency of pods created through the API, then the resync of all edges
// reconnecting at once after changes made while they were away, and verifies that every edge ends
// with exactly its desired objects. Writes its section of docs/benchmarks.md.
//
//   node --import tsx tools/bench/swarm.ts [--nodes 100] [--pods 1000] [--namespaces <nodes>]
//     [--changes <nodes>] [--concurrency 16] [--dry-run]
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { loadOrCreateAuthority } from '@kedge/pki';
import { SimulatedEdge, type ReceivedMessage } from '@kedge/testkit';
import { addDiff, countMessages, describeMismatch, desiredState, diff, matches, podKey, snapshot, totalOf, type Desired, type DiffCount } from './edge-desired-state';
import { CONFIGMAP, controllerCounters, podBody, type PlannedPod } from './edge-workload';
import {
  benchCommand,
  benchTempDir,
  describeMachine,
  formatInteger,
  formatMs,
  loopbackCloudCoreConfig,
  machineInfo,
  mapLimit,
  markdownTable,
  nodeTlsMaterial,
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
  summaryTitle,
  textTable,
  writeBenchmarkSection,
  type CloudCoreProcess,
  type LatencySummary,
} from './bench-kit';
import { waitFor } from '@kedge/testkit';

const SECTION = 'swarm';

const flags = parseBenchFlags(import.meta.filename, {
  nodes: { type: 'string', default: '100' },
  pods: { type: 'string', default: '1000' },
  namespaces: { type: 'string' },
  changes: { type: 'string' },
  concurrency: { type: 'string', default: '16' },
});

const nodeCount = positiveInteger('nodes', flags.nodes);
const podCount = positiveInteger('pods', flags.pods);
const settings = {
  nodes: nodeCount,
  pods: podCount,
  namespaces: Math.min(podCount, positiveInteger('namespaces', flags.namespaces ?? String(nodeCount))),
  changes: Math.min(podCount, positiveInteger('changes', flags.changes ?? String(nodeCount))),
  concurrency: positiveInteger('concurrency', flags.concurrency),
};
const PHASE_TIMEOUT_MS = 120_000;

// ---------------------------------------------------------------------------------------------------
// the workload: pod i runs on node i % nodes, in namespace floor(i / podsPerNamespace), and takes its
// environment from that namespace's configmap, so a node holds its pods plus one configmap per
// namespace it has pods in

const nodeName = (i: number): string => `swarm-edge-${String(i).padStart(4, '0')}`;
const namespaceName = (i: number): string => `swarm-${String(i).padStart(4, '0')}`;
const podsPerNamespace = Math.ceil(settings.pods / settings.namespaces);

const plannedPods: PlannedPod[] = Array.from({ length: settings.pods }, (_, i) => ({
  name: `pod-${String(i).padStart(5, '0')}`,
  namespace: namespaceName(Math.floor(i / podsPerNamespace) % settings.namespaces),
  node: nodeName(i % settings.nodes),
}));

// ---------------------------------------------------------------------------------------------------
// cloudcore metrics

/** Waits until cloudcore has nothing queued or unacked for any node. */
async function quiesce(cloud: CloudCoreProcess): Promise<void> {
  await waitFor(async () => (await controllerCounters(cloud.ports.metrics!)).queued === 0, 'cloudcore queues to drain', { timeoutMs: PHASE_TIMEOUT_MS });
}

// ---------------------------------------------------------------------------------------------------

interface FanOutResult {
  fromResponse: LatencySummary;
  fromRequest: LatencySummary;
  storedBeforeResponse: number;
  createSeconds: number;
  allAtEdgesSeconds: number;
  messages: ReturnType<typeof countMessages>;
  ideal: DiffCount;
  objectsPerEdge: { min: number; max: number };
}

interface ResyncResult {
  apiChanges: { deleted: number; created: number; updated: number };
  changeSeconds: number;
  ideal: DiffCount;
  messages: ReturnType<typeof countMessages>;
  cloudSent: number;
  cloudResent: number;
  connectedSeconds: number;
  convergedSeconds: number;
  slowestEdge: string;
}

let edges: SimulatedEdge[] = [];

async function shutdown(): Promise<void> {
  await mapLimit(edges, 64, (edge) => edge.disconnect().catch(() => undefined));
  await stopAllCloudCores();
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const command = benchCommand('swarm');
  progress(
    `swarm on ${describeMachine(machine)}: ${settings.nodes} edges, ${settings.pods} pods in ` +
      `${settings.namespaces} namespaces, ${settings.changes} changes of each kind while away, API concurrency ${settings.concurrency}`,
  );

  // --- cloudcore ------------------------------------------------------------------------------------
  const dataDir = benchTempDir('kedge-bench-swarm-');
  const cloud = await startCloudCoreProcess({
    repoRoot,
    dataDir,
    config: loopbackCloudCoreConfig(
      { https: { enable: false }, keepaliveTimeoutSeconds: 120, nodeLimit: settings.nodes + 100 },
      {
        kubeAPI: { embedded: { address: '127.0.0.1', port: 0 } },
        // simulated edges renew no leases: the lifecycle controller would mark them Unknown and change
        // their Nodes while they are away, which is not what this measures
        nodeLifecycle: { enable: false },
      },
    ),
  });
  if (cloud.kubeconfig === undefined || cloud.ports.websocket === undefined || cloud.ports.metrics === undefined) {
    throw new Error('cloudcore ready without an embedded API server, a WebSocket hub or metrics');
  }
  const hubUrl = `wss://127.0.0.1:${cloud.ports.websocket}`;
  progress(`cloudcore pid ${cloud.pid} ready: hub ${hubUrl}, metrics :${cloud.ports.metrics}`);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cloud.kubeconfig);
  const core = kubeConfig.makeApiClient(CoreV1Api);

  // --- edges ----------------------------------------------------------------------------------------
  const ca = await loadOrCreateAuthority(join(dataDir, 'pki'));
  const names = Array.from({ length: settings.nodes }, (_, i) => nodeName(i));
  const materials = await mapLimit(names, 8, (name) => nodeTlsMaterial(ca, name));
  progress(`signed ${names.length} node certificates with cloudcore's CA`);

  // what arrives where, and when (performance.now() of this process, like the API timestamps)
  let phase: 'setup' | 'fanout' | 'resync' = 'setup';
  const owner = new Map(plannedPods.map((pod) => [podKey(pod), pod.node]));
  const podStoredAt = new Map<string, number>();
  const misdelivered: string[] = [];
  let resyncWant: Desired | undefined;
  const convergedAt = new Map<string, number>();
  const onReceived = (message: ReceivedMessage, edge: SimulatedEdge): void => {
    if (phase === 'fanout' && message.key.startsWith('pod/') && message.operation !== 'delete') {
      const expectedOwner = owner.get(message.key);
      if (expectedOwner !== edge.nodeName) misdelivered.push(`${message.key} at ${edge.nodeName}`);
      else if (!podStoredAt.has(message.key)) podStoredAt.set(message.key, message.at);
    } else if (phase === 'resync' && resyncWant !== undefined) {
      if (matches(edge, resyncWant.get(edge.nodeName))) convergedAt.set(edge.nodeName, message.at);
      else convergedAt.delete(edge.nodeName);
    }
  };
  edges = names.map((name, i) => new SimulatedEdge({ nodeName: name, hubUrl, tls: materials[i]!, onReceived, requestTimeoutMs: 60_000, handshakeTimeoutMs: 30_000 }));
  let started = performance.now();
  await Promise.all(edges.map((edge) => edge.connect()));
  progress(`${edges.length} edges connected and sent their (empty) inventories in ${formatMs(performance.now() - started)}`);
  started = performance.now();
  await mapLimit(edges, settings.concurrency, (edge) => edge.register());
  progress(`${edges.length} edges registered their Nodes (insert null/node/<name>) in ${formatMs(performance.now() - started)}`);

  const namespaces = Array.from({ length: settings.namespaces }, (_, i) => namespaceName(i));
  await mapLimit(namespaces, settings.concurrency, async (namespace) => {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: CONFIGMAP, namespace }, data: { LOG_LEVEL: 'info', GENERATION: '1' } } });
  });
  let desired = await desiredState(core, names);
  await waitFor(() => edges.every((edge) => matches(edge, desired.get(edge.nodeName))), 'every edge to hold its Node', { timeoutMs: PHASE_TIMEOUT_MS });
  await quiesce(cloud);
  progress(`${namespaces.length} namespaces with a configmap each; every edge holds its Node`);

  // --- fan-out --------------------------------------------------------------------------------------
  const fanout = await (async (): Promise<FanOutResult> => {
    const before = new Map(edges.map((edge) => [edge.nodeName, snapshot(edge)]));
    const firstConnection = new Map(edges.map((edge) => [edge.nodeName, edge.connectionCount]));
    const requestAt = new Float64Array(plannedPods.length);
    const respondedAt = new Float64Array(plannedPods.length);
    phase = 'fanout';
    progress(`fan-out: creating ${plannedPods.length} pods through the API, ${settings.concurrency} at a time`);
    const start = performance.now();
    let created = 0;
    await mapLimit(plannedPods, settings.concurrency, async (pod, i) => {
      requestAt[i] = performance.now();
      await core.createNamespacedPod({ namespace: pod.namespace, body: podBody(pod) });
      respondedAt[i] = performance.now();
      if (++created % 250 === 0) progress(`  ${created}/${plannedPods.length} created, ${podStoredAt.size} at their edges`);
    });
    const createdAt = performance.now();
    await waitFor(() => podStoredAt.size === plannedPods.length || misdelivered.length > 0, `all ${plannedPods.length} pods at their edges`, { timeoutMs: PHASE_TIMEOUT_MS });
    if (misdelivered.length > 0) throw new Error(`pods delivered to the wrong edge: ${misdelivered.slice(0, 5).join(', ')}`);
    let lastStored = 0;
    for (const at of podStoredAt.values()) lastStored = Math.max(lastStored, at);
    progress(`  all ${plannedPods.length} pods at their edges ${formatMs(lastStored - start)} after the first create`);

    desired = await desiredState(core, names);
    await waitFor(() => edges.every((edge) => matches(edge, desired.get(edge.nodeName))), 'every edge to hold exactly its desired objects', { timeoutMs: PHASE_TIMEOUT_MS }).catch(
      (error: unknown) => {
        throw new Error(`${String(error)}: ${describeMismatch(edges, desired)}`);
      },
    );
    await quiesce(cloud);
    // exactly its own pods (also implied by the full match above, checked on its own for the report)
    for (const edge of edges) {
      const have = [...edge.store.keys()].filter((key) => key.startsWith('pod/')).sort();
      const want = plannedPods.filter((pod) => pod.node === edge.nodeName).map(podKey).sort();
      if (have.join() !== want.join()) throw new Error(`${edge.nodeName} holds pods [${have.join(', ')}], expected [${want.join(', ')}]`);
    }
    const fromResponse: number[] = [];
    const fromRequest: number[] = [];
    let storedBeforeResponse = 0;
    plannedPods.forEach((pod, i) => {
      const at = podStoredAt.get(podKey(pod))!;
      fromResponse.push(Math.max(0, at - respondedAt[i]!));
      fromRequest.push(at - requestAt[i]!);
      if (at < respondedAt[i]!) storedBeforeResponse += 1;
    });
    const messages = edges.flatMap((edge) => edge.received.filter((m) => m.connection === firstConnection.get(edge.nodeName) && m.at >= start));
    let ideal: DiffCount = { insert: 0, update: 0, delete: 0 };
    for (const edge of edges) ideal = addDiff(ideal, diff(before.get(edge.nodeName)!, desired.get(edge.nodeName)!));
    const sizes = edges.map((edge) => edge.store.size);
    return {
      fromResponse: summarizeLatencies(fromResponse),
      fromRequest: summarizeLatencies(fromRequest),
      storedBeforeResponse,
      createSeconds: (createdAt - start) / 1000,
      allAtEdgesSeconds: (lastStored - start) / 1000,
      messages: countMessages(messages),
      ideal,
      objectsPerEdge: { min: Math.min(...sizes), max: Math.max(...sizes) },
    };
  })();
  progress(
    `fan-out: p50 ${formatMs(fanout.fromResponse.p50)}, p99 ${formatMs(fanout.fromResponse.p99)}, max ${formatMs(fanout.fromResponse.max)} ` +
      `from the 2xx; all at their edges in ${fanout.allAtEdgesSeconds.toFixed(2)} s; verified`,
  );

  // --- resync after all edges reconnect at once ---------------------------------------------------------
  const resync = await (async (): Promise<ResyncResult> => {
    phase = 'resync';
    await Promise.all(edges.map((edge) => edge.disconnect()));
    await waitFor(async () => (await controllerCounters(cloud.ports.metrics!)).connected === 0, 'cloudcore to see every edge gone', { timeoutMs: PHASE_TIMEOUT_MS });
    progress(`resync: all ${edges.length} edges disconnected; changing the cluster while they are away`);
    const changeStart = performance.now();
    const survivors = plannedPods.slice(settings.changes);
    const deleted = plannedPods.slice(0, settings.changes);
    const created: PlannedPod[] = Array.from({ length: settings.changes }, (_, k) => ({
      name: `pod-new-${String(k).padStart(5, '0')}`,
      namespace: namespaceName((k * 37) % settings.namespaces),
      node: nodeName((k * 7 + 3) % settings.nodes),
    }));
    const updated = namespaces.slice(-settings.changes);
    await mapLimit(deleted, settings.concurrency, (pod) => core.deleteNamespacedPod({ namespace: pod.namespace, name: pod.name, gracePeriodSeconds: 0 }));
    await mapLimit(created, settings.concurrency, (pod) => core.createNamespacedPod({ namespace: pod.namespace, body: podBody(pod) }));
    await mapLimit(updated, settings.concurrency, (namespace) =>
      core.replaceNamespacedConfigMap({ name: CONFIGMAP, namespace, body: { metadata: { name: CONFIGMAP, namespace }, data: { LOG_LEVEL: 'debug', GENERATION: '2' } } }),
    );
    const changeSeconds = (performance.now() - changeStart) / 1000;
    // give the controller's informers a moment to see the changes; either way the diff is the same
    await sleep(1_000);
    resyncWant = await desiredState(core, names);
    const want = resyncWant;
    for (const edge of edges) {
      const pods = [...want.get(edge.nodeName)!.keys()].filter((key) => key.startsWith('pod/')).length;
      const planned = [...survivors, ...created].filter((pod) => pod.node === edge.nodeName).length;
      if (pods !== planned) throw new Error(`the API shows ${pods} pods for ${edge.nodeName}, the plan ${planned}`);
    }
    let ideal: DiffCount = { insert: 0, update: 0, delete: 0 };
    for (const edge of edges) ideal = addDiff(ideal, diff(snapshot(edge), want.get(edge.nodeName)!));
    const counters = await controllerCounters(cloud.ports.metrics!);
    const connections = new Map(edges.map((edge) => [edge.nodeName, edge.connectionCount + 1]));
    progress(
      `  ${deleted.length} pods deleted, ${created.length} created, ${updated.length} configmaps updated in ${changeSeconds.toFixed(2)} s; ` +
        `the edges lack ${totalOf(ideal)} object versions; reconnecting all ${edges.length} at once`,
    );

    const start = performance.now();
    convergedAt.clear();
    await Promise.all(
      edges.map(async (edge) => {
        await edge.connect();
        // an edge whose inventory already matches needs nothing
        if (!convergedAt.has(edge.nodeName) && matches(edge, want.get(edge.nodeName))) convergedAt.set(edge.nodeName, performance.now());
      }),
    );
    const connectedSeconds = (performance.now() - start) / 1000;
    await waitFor(() => convergedAt.size === edges.length, 'every edge to converge', { timeoutMs: PHASE_TIMEOUT_MS }).catch((error: unknown) => {
      throw new Error(`${String(error)}: ${describeMismatch(edges, want)}`);
    });
    let last = start;
    let slowestEdge = '';
    for (const [node, at] of convergedAt) {
      if (at > last) [last, slowestEdge] = [at, node];
    }
    progress(`  every edge converged ${formatMs(last - start)} after the reconnect began; waiting for the cloud queues to drain`);
    await quiesce(cloud);
    await sleep(500);
    // nothing changed since: the API still shows what the edges must hold, and they hold exactly that
    const again = await desiredState(core, names);
    for (const edge of edges) {
      if (!matches(edge, again.get(edge.nodeName)) || !matches(edge, want.get(edge.nodeName))) throw new Error(`after the resync: ${describeMismatch(edges, again)}`);
    }
    const after = await controllerCounters(cloud.ports.metrics!);
    const messages = edges.flatMap((edge) => edge.receivedOn(connections.get(edge.nodeName)!));
    return {
      apiChanges: { deleted: deleted.length, created: created.length, updated: updated.length },
      changeSeconds,
      ideal,
      messages: countMessages(messages),
      cloudSent: after.sent - counters.sent,
      cloudResent: after.resent - counters.resent,
      connectedSeconds,
      convergedSeconds: (last - start) / 1000,
      slowestEdge,
    };
  })();
  progress(
    `resync: converged in ${resync.convergedSeconds.toFixed(2)} s; ${resync.messages.total} down messages for ${totalOf(resync.ideal)} ` +
      `object changes at the edges (${resync.messages.redundant} redundant); verified`,
  );

  // --- report ---------------------------------------------------------------------------------------
  const latencyHeaders = ['measured from', 'pods', 'p50', 'p99', 'max', 'mean'];
  const latencyRows = [
    ['create 2xx response', formatInteger(fanout.fromResponse.count), formatMs(fanout.fromResponse.p50), formatMs(fanout.fromResponse.p99), formatMs(fanout.fromResponse.max), formatMs(fanout.fromResponse.mean)],
    ['create request sent', formatInteger(fanout.fromRequest.count), formatMs(fanout.fromRequest.p50), formatMs(fanout.fromRequest.p99), formatMs(fanout.fromRequest.max), formatMs(fanout.fromRequest.mean)],
  ];
  const fanoutHeaders = ['pods', 'edges', 'creates took', 'creates/s', 'all at their edges after', 'down messages', 'ideal', 'redundant', 'objects per edge', 'verified'];
  const fanoutRows = [
    [
      formatInteger(settings.pods),
      formatInteger(settings.nodes),
      `${fanout.createSeconds.toFixed(2)} s`,
      formatInteger(settings.pods / fanout.createSeconds),
      `${fanout.allAtEdgesSeconds.toFixed(2)} s`,
      formatInteger(fanout.messages.total),
      formatInteger(totalOf(fanout.ideal)),
      formatInteger(fanout.messages.redundant),
      fanout.objectsPerEdge.min === fanout.objectsPerEdge.max ? String(fanout.objectsPerEdge.min) : `${fanout.objectsPerEdge.min}–${fanout.objectsPerEdge.max}`,
      'exact',
    ],
  ];
  const changes = resync.apiChanges;
  const resyncHeaders = ['API changes', 'edge-side changes (ideal)', 'down messages', 'redundant', 'cloud sent / resent', 'all reconnected', 'all converged', 'verified'];
  const resyncRows = [
    [
      `${changes.deleted} pod deletes, ${changes.created} pod creates, ${changes.updated} configmap updates`,
      `${formatInteger(totalOf(resync.ideal))} (${resync.ideal.insert} insert, ${resync.ideal.update} update, ${resync.ideal.delete} delete)`,
      `${formatInteger(resync.messages.total)} (${resync.messages.byOperation.insert} insert, ${resync.messages.byOperation.update} update, ${resync.messages.byOperation.delete} delete)`,
      formatInteger(resync.messages.redundant),
      `${formatInteger(resync.cloudSent)} / ${formatInteger(resync.cloudResent)}`,
      `${resync.connectedSeconds.toFixed(2)} s`,
      `${resync.convergedSeconds.toFixed(2)} s`,
      'exact',
    ],
  ];

  process.stdout.write(summaryTitle('swarm', machine));
  process.stdout.write(`fan-out latency (create → stored at the owning edge)\n${textTable(latencyHeaders, latencyRows)}\n\n`);
  process.stdout.write(`${textTable(fanoutHeaders, fanoutRows)}\n\nresync after all edges reconnect at once\n${textTable(resyncHeaders, resyncRows)}\n`);

  const body = [
    ...sectionHeading('Swarm: fan-out and resync with many edges', machine, command),
    '**Setup.** A real cloudcore child process (`apps/cloudcore/src/main.ts` under tsx: embedded API server,',
    'CloudHub on WebSocket, EdgeController with default options, node lifecycle off because simulated edges',
    `renew no leases) and ${settings.nodes} \`SimulatedEdge\`s (\`@kedge/testkit\`) in the benchmark process, each on its`,
    "own wss connection with its own node certificate signed by cloudcore's CA. Each edge sends its inventory on",
    'connect and registers its Node the way edgecore does (`insert null/node/<name>`); each ACKs what it stored.',
    'cloudcore runs in its own process because that is how it runs for real, and so the edges and the API',
    'client do not share its event loop; on 2 cores the two processes still compete for CPU.',
    '',
    `**Workload.** ${formatInteger(settings.namespaces)} namespaces with one configmap each; ${formatInteger(settings.pods)} pods created through the API`,
    `(\`@kubernetes/client-node\`, ${settings.concurrency} requests at a time), pod *i* bound to edge *i* mod ${settings.nodes} in`,
    `namespace ⌊*i*/${podsPerNamespace}⌋, each taking its environment from its namespace's configmap (\`envFrom\`). An edge`,
    `ends with ${fanout.objectsPerEdge.min === fanout.objectsPerEdge.max ? fanout.objectsPerEdge.min : `${fanout.objectsPerEdge.min}–${fanout.objectsPerEdge.max}`} objects: its Node, its pods and the configmaps they reference.`,
    '',
    '**Clock.** Both timestamps are `performance.now()` of the benchmark process: the API client and the',
    'simulated edges live there, so no clock crosses a process. Fan-out latency of a pod is the time from',
    "the create's 2xx response (or from sending the request) to the moment the owning edge stored it, before",
    'its ACK. An edge may store a pod before the client has parsed the response (the watch can beat the',
    `HTTP answer): that counts as 0 ms (${fanout.storedBeforeResponse} of ${formatInteger(settings.pods)} pods here).`,
    '',
    '**Verification.** After each phase the desired set of every edge is recomputed from API lists (Node if',
    'labelled edge, its pods, their configmaps, services/endpoints of its namespaces) and every edge must',
    'hold exactly those keys at exactly those resourceVersions; in the fan-out each edge must hold exactly',
    'its own pods, and no pod may ever arrive at another edge. *Ideal* is the number of per-edge object',
    'changes (insert/update/delete) between what the edges held and what they must hold; *redundant* are',
    'down messages that changed nothing at the edge (a version it already had, a delete of nothing).',
    '',
    '### Fan-out latency',
    '',
    markdownTable(latencyHeaders, latencyRows),
    '',
    markdownTable(fanoutHeaders, fanoutRows),
    '',
    '### Resync after all edges reconnect at once',
    '',
    `All ${settings.nodes} edges disconnect; while they are away ${changes.deleted} pods are deleted (grace 0, one per edge),`,
    `${changes.created} pods are created and ${changes.updated} configmaps updated through the API. Then all edges reconnect at`,
    'once, each sending its inventory. *All reconnected*: every TLS dial done and every inventory answered;',
    '*all converged*: the last edge holds exactly its desired set, both from the start of the reconnect.',
    '*Down messages* are those the edges received on the new connections, counted until the cloud queues',
    "were empty (every message ACKed); *cloud sent / resent* are cloudcore's own",
    '`kedge_edgecontroller_sent_total` / `resent_total` over the phase.',
    '',
    markdownTable(resyncHeaders, resyncRows),
    '',
    resync.messages.total === totalOf(resync.ideal) && resync.messages.redundant === 0
      ? 'The resync sent exactly the per-edge changes: nothing the edges already held was sent again.'
      : `The resync sent ${resync.messages.total - totalOf(resync.ideal)} messages more than the per-edge changes.`,
  ].join('\n');
  writeBenchmarkSection(SECTION, body, flags['dry-run']);
}

runBenchmark('swarm', main, { shutdown, stopping: 'stopping the edges and cloudcore' });

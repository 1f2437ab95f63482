// Devices: (1) twin updates per second on one gateway, mapper-style publishes → MQTT (the EventBus's aedes)
// → DeviceTwin → SQLite, beside plain aedes publish/subscribe at QoS 1 in the same run; (2) latency from a
// Modbus register change (modbus-serial ServerTCP, the Modbus mapper inside edgecore) to Device.status in the
// cloud (cloudcore + edgecore child processes). Writes the `devices` section of docs/benchmarks.md.
//
//   node --import tsx tools/bench/devices.ts [--devices 50] [--updates 20000] [--changes 20] [--window 100] [--dry-run]
//     --twin-only             only the twin throughput part, printed and not written
//     --twin-profile <file>   also write a V8 CPU profile of the twin phase alone (read it with cpu-profile-top.mjs)
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import net from 'node:net';
import { join } from 'node:path';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { Aedes } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { DeviceTwin, TwinStore, type DeviceSpec } from '@kedge/devicetwin';
import { EventBus } from '@kedge/eventbus';
import { MessageRouter } from '@kedge/router';
import { createLogger } from '@kedge/telemetry';
import { freePort } from '@kedge/testkit';
import {
  applyManifests,
  device,
  deviceModel,
  holdingRegister,
  manifestText,
  modbusTcp,
  startDeviceNode,
  startModbusServer,
  twinTopic,
  twinUpdate,
} from '../e2e/device-fixtures';
import { stopAll } from '../e2e/harness';
import {
  benchTempDir,
  formatInteger,
  formatMs,
  formatRatio,
  machineInfo,
  markdownTable,
  parseBenchFlags,
  positiveInteger,
  progress,
  removeTempDir,
  runBenchmark,
  sectionHeading,
  sleep,
  summarizeLatencies,
  textTable,
  writeBenchmarkSection,
  type LatencySummary,
} from './bench-kit';

const flags = parseBenchFlags(import.meta.filename, {
  devices: { type: 'string', default: '50' },
  updates: { type: 'string', default: '20000' },
  changes: { type: 'string', default: '20' },
  window: { type: 'string', default: '100' },
  'twin-only': { type: 'boolean', default: false },
  'twin-profile': { type: 'string' },
});
const DEVICES = positiveInteger('devices', flags.devices);
const UPDATES = positiveInteger('updates', flags.updates);
const CHANGES = positiveInteger('changes', flags.changes);
/** QoS 1 publishes in flight at once (the broker's PUBACKs pace the publisher) */
const WINDOW = positiveInteger('window', flags.window);
const CYCLE_MS = 100;
const POLL_MS = 10;
const silent = createLogger({ name: 'bench-devices', level: 'silent' });

/** publishes `total` messages with at most WINDOW QoS 1 publishes in flight; resolves when `done()` says all arrived */
async function drive(publisher: MqttClient, total: number, message: (i: number) => { topic: string; payload: string }, done: () => boolean): Promise<number> {
  const started = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      const { topic, payload } = message(next++);
      await publisher.publishAsync(topic, payload, { qos: 1 });
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, lane));
  while (!done()) await sleep(1);
  return performance.now() - started;
}

interface Throughput {
  twinMs: number;
  twinOk: number;
  twinErrors: number;
  rawMs: number;
  /** CPU time of the whole process (broker, twin, both MQTT clients) per message, µs */
  twinCpuUs: number;
  rawCpuUs: number;
  /** fsyncs made by the twin store's group commit during the twin run, and commits per fsync */
  syncs: number;
  perSync: number;
  /** the same run with a client subscribed to every document */
  withDocuments: TwinRun;
}

async function startProfiler(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return session;
}

async function stopProfiler(session: Session, file: string): Promise<void> {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(file, JSON.stringify(profile));
  session.disconnect();
  progress(`twin phase CPU profile: ${file}`);
}

/** user + system CPU of this process since `since`, µs */
function cpuMicros(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

interface TwinRun {
  ms: number;
  ok: number;
  errors: number;
  /** documents received by the document subscriber (0 without one) */
  documents: number;
  cpuUs: number;
  syncs: number;
  perSync: number;
}

/** a mapper's twin update (KubeEdge's shape) */
const update = (i: number): { topic: string; payload: string } => ({
  topic: `${twinTopic(`dev-${i % DEVICES}`)}/update`,
  payload: twinUpdate('temperature', String(i % 1000), 'int', `e${i}`, Date.now()),
});

/**
 * One twin run: a fresh bus, store and twin; a client reading every result and, with `documents`, a second
 * client subscribed to every `twin/update/document` (the twin publishes a document only when someone listens).
 */
async function twinRun(documents: boolean, profile: string | undefined): Promise<TwinRun> {
  const dir = benchTempDir('kbd-');
  const registry = new Registry();
  const bus = new EventBus({ nodeName: 'bench-gw', logger: silent, registry, internal: { port: 0 } });
  await bus.start();
  const store = new TwinStore({ file: join(dir, 'devicetwin.db'), registry });
  const router = new MessageRouter();
  const twin = new DeviceTwin({ store, bus, router, reporter: { report: () => 1 }, nodeName: 'bench-gw', logger: silent, registry });
  const specs: DeviceSpec[] = Array.from({ length: DEVICES }, (_, i) => ({
    namespace: 'default',
    name: `dev-${i}`,
    resourceVersion: 1n,
    description: '',
    model: 'sensor',
    properties: [{ name: 'temperature', type: 'int', accessMode: 'ReadOnly' }],
    attributes: {},
    desired: new Map(),
  }));
  store.applyMembership(1n, specs);
  const url = `mqtt://127.0.0.1:${bus.internalAddress?.port ?? 0}`;
  const subscriber = await connectAsync(url, { reconnectPeriod: 0 });
  let ok = 0;
  let errors = 0;
  // an error result carries `error_code` (the success result of this model has no such property): a
  // search, so the subscriber costs what the baseline's counting subscriber costs, not a JSON parse
  subscriber.on('message', (_topic, payload) => {
    if (payload.includes('"error_code"')) errors += 1;
    else ok += 1;
  });
  await subscriber.subscribeAsync('$hw/events/device/+/+/twin/update/result', { qos: 1 });
  let received = 0;
  const watcher = documents ? await connectAsync(url, { reconnectPeriod: 0 }) : undefined;
  if (watcher !== undefined) {
    watcher.on('message', () => (received += 1));
    await watcher.subscribeAsync('$hw/events/device/+/+/twin/update/document', { qos: 1 });
  }
  const publisher = await connectAsync(url, { reconnectPeriod: 0 });
  progress(`twin path${documents ? ' with a document subscriber' : ''}: ${UPDATES} updates for ${DEVICES} devices, ${WINDOW} in flight`);
  const profiler = profile === undefined ? undefined : await startProfiler();
  const cpu = process.cpuUsage();
  const ms = await drive(publisher, UPDATES, update, () => ok + errors >= UPDATES && (!documents || received >= ok));
  const cpuUs = cpuMicros(cpu) / UPDATES;
  if (profiler !== undefined && profile !== undefined) await stopProfiler(profiler, profile);
  const batches = await groupCommitBatches(registry, ok + errors);
  await publisher.endAsync();
  await subscriber.endAsync();
  await watcher?.endAsync();
  twin.stop();
  await bus.stop();
  store.close();
  router.close();
  removeTempDir(dir);
  return { ms, ok, errors, documents: received, cpuUs, ...batches };
}

async function throughput(): Promise<Throughput> {
  const run = await twinRun(false, flags['twin-profile']);
  const withDocuments = await twinRun(true, undefined);

  // plain aedes publish/subscribe: the same payloads, QoS 1, one subscriber
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const rawUrl = `mqtt://127.0.0.1:${port}`;
  const rawSub = await connectAsync(rawUrl, { reconnectPeriod: 0 });
  let delivered = 0;
  rawSub.on('message', () => (delivered += 1));
  await rawSub.subscribeAsync('bench/+/+', { qos: 1 });
  const rawPub = await connectAsync(rawUrl, { reconnectPeriod: 0 });
  progress('raw aedes path');
  const rawCpu = process.cpuUsage();
  const rawMs = await drive(rawPub, UPDATES, (i) => ({ ...update(i), topic: `bench/dev-${i % DEVICES}/temperature` }), () => delivered >= UPDATES);
  const rawCpuUs = cpuMicros(rawCpu) / UPDATES;
  await rawPub.endAsync();
  await rawSub.endAsync();
  await new Promise<void>((r) => broker.close(() => r()));
  await new Promise<void>((r) => server.close(() => r()));
  return { twinMs: run.ms, twinOk: run.ok, twinErrors: run.errors, rawMs, twinCpuUs: run.cpuUs, rawCpuUs, syncs: run.syncs, perSync: run.perSync, withDocuments };
}

/**
 * How many fsyncs the TwinStore's group commit made for the run, and the updates per fsync on average
 * (the updates of one event-loop turn share one transaction, so the metric counts transactions: the
 * updates are counted here).
 */
async function groupCommitBatches(registry: Registry, updates: number): Promise<{ syncs: number; perSync: number }> {
  const metric = await registry.getSingleMetric('kedge_sqlite_group_commit_batch_size')?.get();
  const value = (name: string): number => metric?.values.find((v) => (v as { metricName?: string }).metricName === name && v.labels['store'] === 'devicetwin')?.value ?? 0;
  const syncs = value('kedge_sqlite_group_commit_batch_size_count');
  return { syncs, perSync: syncs === 0 ? 0 : updates / syncs };
}

const manifests = (port: number): string =>
  manifestText(
    deviceModel('bench-sensor', 'modbus', [{ name: 'temperature', type: 'INT', accessMode: 'ReadOnly' }]),
    device('bench-sensor-1', 'bench-sensor', 'bench-edge', {
      protocol: modbusTcp(port),
      properties: [{ name: 'temperature', collectCycle: CYCLE_MS, reportCycle: CYCLE_MS, visitors: holdingRegister(0, 'int16') }],
    }),
  );

async function latency(): Promise<LatencySummary> {
  const hr = Array<number>(10).fill(0);
  hr[0] = 1;
  const modbus = await startModbusServer(hr);
  try {
    const { cloud, edge } = await startDeviceNode('bench-edge');
    progress(`cloudcore pid ${cloud.process.pid}`);
    progress(`edgecore pid ${edge.process.pid}`);
    await applyManifests(cloud, manifests(modbus.port));
    const kc = new KubeConfig();
    kc.loadFromFile(cloud.kubeconfig);
    const api = kc.makeApiClient(CustomObjectsApi);
    const reported = async (): Promise<string | undefined> => {
      const sensor = (await api.getNamespacedCustomObject({ group: 'devices.kubeedge.io', version: 'v1beta1', namespace: 'default', plural: 'devices', name: 'bench-sensor-1' })) as {
        status?: { twins?: { propertyName: string; reported?: { value?: string } }[] };
      };
      return sensor.status?.twins?.find((t) => t.propertyName === 'temperature')?.reported?.value;
    };
    const waitValue = async (value: string, timeoutMs: number): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      while ((await reported()) !== value) {
        if (Date.now() > deadline) throw new Error(`Device.status never showed ${value}`);
        await sleep(POLL_MS);
      }
    };
    await waitValue('1', 60_000);
    const samples: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      await sleep(300);
      const value = 100 + i;
      const started = performance.now();
      hr[0] = value;
      await waitValue(String(value), 30_000);
      samples.push(performance.now() - started);
      progress(`change ${i + 1}/${CHANGES}: ${samples.at(-1)?.toFixed(0)} ms`);
    }
    return summarizeLatencies(samples);
  } finally {
    await stopAll();
    await modbus.close();
  }
}

async function main(): Promise<void> {
  const t = await throughput();
  const docs = t.withDocuments;
  const docsRate = (docs.ok / docs.ms) * 1000;
  const twinRate = (t.twinOk / t.twinMs) * 1000;
  const rawRate = (UPDATES / t.rawMs) * 1000;
  const rateRows = [
    ['mapper twin update → MQTT (aedes) → DeviceTwin → SQLite → result', formatInteger(UPDATES), formatInteger(t.twinErrors), `${formatInteger(t.twinMs)} ms`, `${formatInteger(twinRate)}/s`, `${formatInteger(t.twinCpuUs)} µs`],
    [`the same, and a client reading every document (${formatInteger(docs.documents)} received)`, formatInteger(UPDATES), formatInteger(docs.errors), `${formatInteger(docs.ms)} ms`, `${formatInteger(docsRate)}/s`, `${formatInteger(docs.cpuUs)} µs`],
    ['plain aedes publish → subscriber (QoS 1)', formatInteger(UPDATES), '0', `${formatInteger(t.rawMs)} ms`, `${formatInteger(rawRate)}/s`, `${formatInteger(t.rawCpuUs)} µs`],
    ['ratio twin / plain aedes', '', '', '', formatRatio(twinRate / rawRate), formatRatio(t.twinCpuUs / t.rawCpuUs)],
    ['ratio twin with a document subscriber / plain aedes', '', '', '', formatRatio(docsRate / rawRate), formatRatio(docs.cpuUs / t.rawCpuUs)],
  ];
  const rateHeaders = ['path', 'messages', 'errors', 'time', 'rate', 'CPU per message'];
  if (flags['twin-only']) {
    console.log(textTable(rateHeaders, rateRows));
    return;
  }
  const lat = await latency();
  const machine = machineInfo();
  const latHeaders = ['path', 'changes', 'p50', 'p99', 'max'];
  const latRows = [['Modbus holding register change → Device.status (cloud)', String(lat.count), formatMs(lat.p50), formatMs(lat.p99), formatMs(lat.max)]];
  console.log(textTable(rateHeaders, rateRows));
  console.log(textTable(latHeaders, latRows));
  const command = 'node --import tsx tools/bench/devices.ts';
  const body = `
${sectionHeading('Devices: twin updates per second, and Modbus register → Device.status latency', machine, command).join('\n')}
**Twin throughput (one gateway, in-process).** The EventBus (embedded aedes broker on loopback), a DeviceTwin
on a SQLite TwinStore and ${DEVICES} member devices. One mqtt.js client publishes ${formatInteger(UPDATES)} KubeEdge twin
updates (\`$hw/events/device/default/dev-<i>/twin/update\`, one int property) round-robin over the devices at QoS 1
with ${WINDOW} publishes in flight (as fast as the broker PUBACKs); the time runs until a second client has received
every \`twin/update/result\`. The twin builds and publishes a \`document\` (and a delta) only when a client subscribes to
it (\`EventBus.hasSubscribers\`): a KubeEdge mapper does not, so the first row has none; the second row adds a client
reading every document (three trips through the broker per update; its time runs until every document arrived too).
Every acknowledgement is durable:
the updates of one event-loop turn share one SQLite transaction (WAL, \`synchronous=NORMAL\`; TwinStore's
\`TurnTransaction\`), and **group commit** (\`GroupCommit\` in \`@kedge/sqlite\`) fsyncs the WAL once for all that
committed meanwhile, on the thread pool; the broker's PUBACK of an update and its \`update/result\` wait for that
fsync. This run: ${formatInteger(t.syncs)} fsyncs, ${t.perSync.toFixed(1)} updates per fsync on average. "CPU per
message" is this process's user + system CPU (broker, twin, SQLite and the mqtt.js clients) divided by the
updates: under load the rates measure the scheduler as much as kedge, the CPU ratio less so. The baseline, in the same run, is a fresh aedes with the same payloads and publisher on
plain topics and one QoS 1 subscriber, timed until every message is delivered. Both result subscribers only count
(the twin's finds error results by searching for \`"error_code"\`, not by parsing JSON).

${markdownTable(rateHeaders, rateRows)}

**Register → cloud latency.** A cloudcore child process (embedded API server) and an edgecore child process (log
level debug) running the Modbus mapper inside it, against modbus-serial's \`ServerTCP\` in the benchmark process.
The Device's \`temperature\` is a holding register with \`collectCycle\` and \`reportCycle\` ${CYCLE_MS} ms. Each of
${lat.count} changes sets the register to a new value, and runs until a \`GET\` of the Device (client-node, every ${POLL_MS} ms)
shows it in \`status.twins[].reported\`: the mapper's read and report cycles (up to 2 × ${CYCLE_MS} ms), DeviceTwin,
MetaManager's outbox, EdgeHub → CloudHub, DeviceController's status patch.

${markdownTable(latHeaders, latRows)}
`;
  if (flags['dry-run']) console.log(body);
  writeBenchmarkSection('devices', body, flags['dry-run']);
}

runBenchmark('devices', main, { shutdown: stopAll, stopping: 'stopping cloudcore and edgecore' });

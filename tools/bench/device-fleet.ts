// Benchmark (a script, not a test): what one gateway sustains end to end for a fleet of Modbus devices, device →
// mapper → twin → cloud DeviceStatus. A cloudcore child process (embedded API server, default config) and an
// edgecore child process (log level info, edged off) running the Modbus mapper inside it; 200 Devices × 5 INT
// properties, each a holding register of one modbus-serial ServerTCP in this process (one TCP connection per
// device), collectCycle = reportCycle = 1 s. Every second all registers take a new value (the tick number), so
// every property changes every cycle. Measured over the window: register reads per second at the device (the
// mapper's reads), property values reaching DeviceStatus per second (a watch on devicestatuses counts every
// reported value that changed), lag from the register change to the value in DeviceStatus (p50/p99), and
// edgecore's and cloudcore's CPU% (utime+stime from /proc) and RSS. Raw baseline in the same run: the same
// reads by a bare loop of the same ModbusDriver (one per device, 1 s cycle), each value published at QoS 1 to a
// plain aedes broker and timed to its subscriber. Writes the `device-fleet` section of docs/benchmarks.md.
//
//   node --import tsx tools/bench/device-fleet.ts [--devices 200] [--properties 5] [--seconds 60] [--dry-run]
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { Aedes } from 'aedes';
import { connectAsync } from 'mqtt';
import { CYCLE_MS, Plant, WindowCounter, cpuSeconds, measure, type Window } from './device-fleet-plant';
import { ModbusDriver, buildVisitors, type PropertyVisitor } from '@kedge/mappers';
import { freePort, prometheusSample, waitFor } from '@kedge/testkit';
import { issueToken, writeTokenFile } from '../e2e/cluster';
import { applyManifests, device, deviceModel, holdingRegister, manifestText, modbusTcp } from '../e2e/device-fixtures';
import { fetchMetrics, startApp, writeYaml, type KedgeProcess } from '../e2e/harness';
import {
  benchCommand,
  benchTempDir,
  describeMachine,
  formatInteger,
  formatMs,
  formatRatio,
  loopbackCloudCoreConfig,
  machineInfo,
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
  textTable,
  writeBenchmarkSection,
  type CloudCoreProcess,
} from './bench-kit';

const flags = parseBenchFlags(import.meta.filename, {
  devices: { type: 'string', default: '200' },
  properties: { type: 'string', default: '5' },
  seconds: { type: 'string', default: '60' },
});
const DEVICES = positiveInteger('devices', flags.devices);
const PROPERTIES = positiveInteger('properties', flags.properties);
const SECONDS = positiveInteger('seconds', flags.seconds);
const NODE = 'bench-fleet';
const deviceName = (i: number): string => `fleet-${String(i).padStart(3, '0')}`;
const propertyName = (k: number): string => `p${k}`;

function fleetManifests(port: number): string {
  const properties = Array.from({ length: PROPERTIES }, (_, k) => ({ name: propertyName(k), type: 'INT' as const, accessMode: 'ReadOnly' as const, minimum: '0', maximum: '32767' }));
  return manifestText(
    deviceModel('fleet-sensor', 'modbus', properties),
    ...Array.from({ length: DEVICES }, (_, i) =>
      device(deviceName(i), 'fleet-sensor', NODE, {
        protocol: modbusTcp(port),
        properties: properties.map((p, k) => ({ name: p.name, collectCycle: CYCLE_MS, reportCycle: CYCLE_MS, visitors: holdingRegister(i * PROPERTIES + k, 'int16') })),
      }),
    ),
  );
}

interface KedgeRun extends Window {
  /** properties with a value in DeviceStatus after the warm-up, and how long it took */
  warmedUp: number;
  warmUpSeconds: number;
  /** properties whose value changed in DeviceStatus during the window */
  covered: number;
  edgeCpu: number;
  cloudCpu: number;
  /** edgecore's event-loop lag p99 (prom-client's, since start) at the end of the window, ms */
  loopLagP99: number;
  /** twin reports the outbox delivered to the cloud during the window, and what was still queued at its end */
  reportsSent: number;
  outboxDepth: number;
  edgeRss: number;
  cloudRss: number;
}

let cloud: CloudCoreProcess | undefined;
let edge: KedgeProcess | undefined;

async function shutdown(): Promise<void> {
  await edge?.stop('SIGTERM', 10_000);
  await cloud?.stop(10_000);
  await stopAllCloudCores(2_000);
}

async function kedgeRun(plant: Plant, workDir: string): Promise<KedgeRun> {
  const cloudDir = join(workDir, 'cloud');
  mkdirSync(cloudDir);
  cloud = await startCloudCoreProcess({ repoRoot, dataDir: cloudDir, config: loopbackCloudCoreConfig({}, { kubeAPI: { embedded: { address: '127.0.0.1', port: 0 } } }) });
  if (!cloud.ports.websocket || !cloud.ports.https || cloud.kubeconfig === undefined) throw new Error('cloudcore reported no hub port or kubeconfig');
  progress(`cloudcore pid ${cloud.pid}`);
  const edgeDir = join(workDir, 'edge');
  mkdirSync(edgeDir);
  const config = writeYaml(join(edgeDir, 'edgecore.yaml'), {
    nodeName: NODE,
    dataDir: edgeDir,
    edgeHub: { protocol: 'websocket', server: `127.0.0.1:${cloud.ports.websocket}`, httpServer: `https://127.0.0.1:${cloud.ports.https}` },
    metrics: { address: '127.0.0.1', port: 0 },
    metaServer: { address: '127.0.0.1', port: 0, podAccess: { port: 0 } },
    eventBus: { internal: { address: '127.0.0.1', port: 0 } },
    edged: { enable: false },
    log: { level: 'info' },
  });
  const token = await issueToken({ dataDir: cloudDir }, ['--node', NODE]);
  edge = startApp('edgecore', ['--config', config, '--token-file', writeTokenFile(edgeDir, token)]);
  const ready = await edge.waitForLog((l) => l.msg === 'edgecore ready', 'edgecore ready');
  const edgeMetricsPort = (ready.ports as { metrics?: number } | undefined)?.metrics;
  progress(`edgecore pid ${edge.pid}`);
  /** what edgecore says about itself: event-loop lag, reports sent up, the outbox's depth */
  const edgeSample = async (): Promise<{ loopLagP99: number; sent: number; depth: number }> => {
    const text = edgeMetricsPort === undefined ? '' : await fetchMetrics(edgeMetricsPort);
    return {
      loopLagP99: (prometheusSample(text, 'nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000,
      sent: prometheusSample(text, 'kedge_metamanager_outbox_sent_total') ?? NaN,
      depth: prometheusSample(text, 'kedge_metamanager_outbox_depth') ?? NaN,
    };
  };

  const counter = new WindowCounter(plant);
  // the last reported value per device/property; a change is a value reaching DeviceStatus
  const last = new Map<string, string>();
  const complete = new Set<string>();
  const kc = new KubeConfig();
  kc.loadFromFile(cloud.kubeconfig);
  let watchRequest: { abort(): void } | undefined;
  const onEvent = (_type: string, object: { metadata?: { name?: string }; status?: { twins?: { propertyName: string; reported?: { value?: string } }[] } }): void => {
    const name = object.metadata?.name ?? '';
    for (const twin of object.status?.twins ?? []) {
      const value = twin.reported?.value;
      if (value === undefined) continue;
      const key = `${name}/${twin.propertyName}`;
      if (last.get(key) === value) continue;
      last.set(key, value);
      complete.add(key);
      counter.seen(Number(value));
    }
  };
  const startWatch = async (): Promise<void> => {
    watchRequest = await new Watch(kc).watch('/apis/devices.kubeedge.io/v1beta1/namespaces/default/devicestatuses', {}, onEvent, (error: unknown) => {
      if (error && cloud !== undefined) progress(`watch ended (${String(error)}); restarting`);
      if (cloud !== undefined) void sleep(200).then(startWatch);
    });
  };
  await startWatch();

  progress(`applying ${DEVICES} Devices × ${PROPERTIES} properties`);
  await applyManifests({ kubeconfig: cloud.kubeconfig }, fleetManifests(plant.port));
  // warm-up: the plant runs until every property of every device has reached DeviceStatus, or 3 minutes
  // (a gateway that cannot keep up never gets there; the window then says how far it got)
  const warm = setInterval(() => {
    plant.step();
    if (plant.tick % 10 === 0) progress(`warm-up: ${complete.size}/${DEVICES * PROPERTIES} properties in DeviceStatus`);
  }, CYCLE_MS);
  const warmStarted = performance.now();
  try {
    await waitFor(() => complete.size >= DEVICES * PROPERTIES || performance.now() - warmStarted > 180_000, 'the warm-up', { timeoutMs: 200_000, intervalMs: 500 });
  } finally {
    clearInterval(warm);
  }
  const warmedUp = complete.size;
  const warmUpSeconds = (performance.now() - warmStarted) / 1000;
  progress(`warm-up done: ${warmedUp}/${DEVICES * PROPERTIES} properties in DeviceStatus after ${warmUpSeconds.toFixed(0)} s`);

  const edgePid = edge.pid;
  const cloudPid = cloud.pid;
  const [edge0, cloud0] = [cpuSeconds(edgePid), cpuSeconds(cloudPid)];
  let edgeRss = 0;
  let cloudRss = 0;
  const sampler = setInterval(() => {
    edgeRss = Math.max(edgeRss, residentBytes(edgePid));
    cloudRss = Math.max(cloudRss, residentBytes(cloudPid));
  }, 2_000);
  const before = new Map(last);
  const edgeBefore = await edgeSample();
  const window = await measure(plant, counter, SECONDS, 'kedge');
  clearInterval(sampler);
  const edgeAfter = await edgeSample();
  const covered = [...last].filter(([key, value]) => before.get(key) !== value).length;
  const [edgeCpu, cloudCpu] = [(cpuSeconds(edgePid) - edge0) / window.seconds, (cpuSeconds(cloudPid) - cloud0) / window.seconds];
  const stopping = cloud;
  cloud = undefined;
  watchRequest?.abort();
  await edge.stop('SIGTERM', 10_000);
  await stopping.stop(10_000);
  return { ...window, warmedUp, warmUpSeconds, covered, edgeCpu, cloudCpu, edgeRss, cloudRss, loopLagP99: edgeAfter.loopLagP99, reportsSent: edgeAfter.sent - edgeBefore.sent, outboxDepth: edgeAfter.depth };
}

/** The same reads by a bare loop of the same driver, each value published at QoS 1 to plain aedes. */
async function baselineRun(plant: Plant): Promise<Window> {
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `mqtt://127.0.0.1:${port}`;
  const counter = new WindowCounter(plant);
  const subscriber = await connectAsync(url, { reconnectPeriod: 0 });
  subscriber.on('message', (_topic, payload) => counter.seen(Number(payload.toString('utf8'))));
  await subscriber.subscribeAsync('fleet/+/+', { qos: 1 });
  const publisher = await connectAsync(url, { reconnectPeriod: 0 });
  const modelProperties = Array.from({ length: PROPERTIES }, (_, k) => ({ name: propertyName(k), type: 'int' as const, accessMode: 'ReadOnly' as const }));
  const drivers: { driver: ModbusDriver; visitors: PropertyVisitor[]; name: string }[] = [];
  for (let i = 0; i < DEVICES; i++) {
    const spec = {
      metadata: { name: deviceName(i), namespace: 'default' },
      spec: { deviceModelRef: { name: 'fleet-sensor' }, protocol: modbusTcp(plant.port) as { protocolName: string; configData: Record<string, unknown> }, properties: modelProperties.map((p, k) => ({ name: p.name, visitors: holdingRegister(i * PROPERTIES + k, 'int16') as { protocolName: string; configData: Record<string, unknown> } })) },
    };
    const driver = new ModbusDriver(spec.spec.protocol.configData, `default/${deviceName(i)}`);
    await driver.connect();
    drivers.push({ driver, visitors: buildVisitors(spec, { metadata: { name: 'fleet-sensor', namespace: 'default' }, spec: { properties: modelProperties } }, driver), name: deviceName(i) });
  }
  let running = true;
  let baselineErrors = 0;
  // one loop per device, as one DeviceRunner per device: read every property each cycle and publish it
  const loops = drivers.map(async ({ driver, visitors, name }, i) => {
    await sleep((i * CYCLE_MS) / DEVICES);
    while (running) {
      const started = performance.now();
      for (const visitor of visitors) {
        // as the mapper does: a failed read (a Modbus timeout under load) is counted and the loop goes on
        try {
          const value = await driver.read(visitor);
          await publisher.publishAsync(`fleet/${name}/${visitor.property.name}`, String(value), { qos: 1 });
        } catch {
          baselineErrors += 1;
        }
      }
      await sleep(Math.max(0, CYCLE_MS - (performance.now() - started)));
    }
  });
  await sleep(3 * CYCLE_MS);
  // the subscriber sees every publish, not only changes: count a value only the first time per property and tick
  const seenTicks = new Map<string, number>();
  subscriber.removeAllListeners('message');
  subscriber.on('message', (topic, payload) => {
    const tick = Number(payload.toString('utf8'));
    if (seenTicks.get(topic) === tick) return;
    seenTicks.set(topic, tick);
    counter.seen(tick);
  });
  const errors0 = baselineErrors;
  const window = await measure(plant, counter, SECONDS, 'baseline');
  window.errors = baselineErrors - errors0;
  running = false;
  await Promise.all(loops);
  await Promise.all(drivers.map(({ driver }) => driver.close()));
  await publisher.endAsync();
  await subscriber.endAsync();
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return window;
}

const perSecond = (count: number, seconds: number): string => `${formatInteger(count / seconds)}/s`;
const percent = (share: number): string => `${(share * 100).toFixed(0)}%`;
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB`;

async function main(): Promise<void> {
  const machine = machineInfo();
  const startLoad = loadavg().map((value) => value.toFixed(1)).join(', ');
  progress(`device-fleet bench on ${describeMachine(machine)}; load average ${startLoad}`);
  const workDir = benchTempDir('kedge-bench-fleet-');
  const plant = new Plant(DEVICES * PROPERTIES);
  await plant.start();
  try {
    const kedge = await kedgeRun(plant, workDir);
    progress(`kedge: ${JSON.stringify({ ...kedge, lags: { p50: Math.round(kedge.lags.p50), p99: Math.round(kedge.lags.p99) } })}`);
    progress('baseline: bare ModbusDriver loop → plain aedes');
    const raw = await baselineRun(plant);
    const offered = DEVICES * PROPERTIES;
    const headers = ['path', 'register reads', 'values delivered', 'lag p50', 'lag p99', 'CPU', 'RSS'];
    const rows = [
      [
        'kedge: Modbus → mapper (edgecore) → twin → hub → DeviceStatus',
        perSecond(kedge.reads, kedge.seconds),
        perSecond(kedge.values, kedge.seconds),
        formatMs(kedge.lags.p50),
        formatMs(kedge.lags.p99),
        `edgecore ${percent(kedge.edgeCpu)}, cloudcore ${percent(kedge.cloudCpu)}`,
        `edgecore ${mb(kedge.edgeRss)}, cloudcore ${mb(kedge.cloudRss)}`,
      ],
      [`baseline: bare ModbusDriver loop → plain aedes (QoS 1) → subscriber${raw.errors ? ` (${formatInteger(raw.errors)} reads timed out)` : ''}`, perSecond(raw.reads, raw.seconds), perSecond(raw.values, raw.seconds), formatMs(raw.lags.p50), formatMs(raw.lags.p99), `bench process ${percent(raw.benchCpu / raw.seconds)}`, ''],
      ['ratio kedge / baseline (values delivered)', '', formatRatio(kedge.values / kedge.seconds / (raw.values / raw.seconds)), '', '', '', ''],
    ];
    console.log(textTable(headers, rows));
    const coverage =
      `After the warm-up (${kedge.warmUpSeconds.toFixed(0)} s) ${formatInteger(kedge.warmedUp)} of ${formatInteger(offered)} properties had a value in DeviceStatus; ` +
      `during the window ${formatInteger(kedge.covered)} of them changed there at least once. edgecore's outbox delivered ${perSecond(kedge.reportsSent, kedge.seconds)} ` +
      `twin reports to the cloud (each one device's whole state; ${DEVICES}/s offered) and held ${formatInteger(kedge.outboxDepth)} at the end; its event-loop lag p99 was ${formatMs(kedge.loopLagP99)}. ` +
      `cloudcore spent ${formatMs((kedge.cloudCpu * kedge.seconds * 1000) / Math.max(1, kedge.reportsSent))} of CPU per delivered twin report (its whole CPU over the window, divided by the reports).`;
    console.log(coverage);
    const body = `
${sectionHeading(`Device fleet: ${DEVICES} Modbus devices × ${PROPERTIES} properties at 1 s cycles through one gateway`, machine, benchCommand('device-fleet'), [`- Load average when it started: ${startLoad}`]).join('\n')}
A cloudcore child process (embedded API server, default config: DeviceStatus written and mirrored into
Device.status) and one edgecore child process (log level info, edged off) running the Modbus mapper inside it.
${DEVICES} Devices × ${PROPERTIES} INT properties, each a holding register of one modbus-serial \`ServerTCP\` in the
benchmark process (real Modbus TCP, one connection per device), \`collectCycle\` = \`reportCycle\` = 1 s, so
${formatInteger(offered)} values per second are offered. Every second every register takes a new value, so every
property changes every cycle. Over ${SECONDS} s after a warm-up: **register reads** are FC3 reads the device served;
**values delivered** are property values that changed in DeviceStatus (a watch on \`devicestatuses\`); **lag** runs from
the register change to the watch event carrying it (it includes up to one collect and one report cycle, 0–2 s, by design);
CPU is utime+stime from \`/proc/<pid>/stat\` over the window (100% = one core), RSS the highest VmRSS sampled.
The baseline, in the same run against the same registers: the same \`ModbusDriver\` in a bare loop per device (read
the ${PROPERTIES} registers, publish each value at QoS 1 to a plain aedes broker, 1 s cycle), lag to a subscriber; its CPU is
the whole benchmark process (Modbus server, loops, broker, subscriber). Nobody publishes this figure for KubeEdge.

${markdownTable(headers, rows)}

${coverage}
`;
    writeBenchmarkSection('device-fleet', body, flags['dry-run']);
  } finally {
    await plant.close();
  }
}

runBenchmark('device-fleet', main, { shutdown, stopping: 'stopping cloudcore and edgecore' });

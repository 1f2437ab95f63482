// End-to-end DMI (mappers outside edgecore) on real processes: one cloudcore and one edgecore for every case.
// 1. kedge's own mapper as its own process (`libs/edge/mappers/src/cli.ts --dmi-socket`), what a user runs as a
//    service beside edgecore, against Debian's pymodbus behind a counting proxy: kubectl applies a DeviceModel
//    and Device, a register value reaches the Device's DeviceStatus (and the Device.status mirror), a desired
//    patch reaches the register, after `kill -9` a restart re-registers and values flow again (a desired value
//    set while the mapper was down included), and edgecore's built-in mapper never runs the device (the peer
//    sees one connection; edgecore never starts a runner for it).
// 2. A mapper not written with kedge's code: Python's grpcio with modules generated from the repo's DMI proto at
//    test time (grpc_tools.protoc). It gets the devices with its registration, the Device and DeviceModel calls
//    as they change, its reports land in the cloud's DeviceStatus, and its garbage is refused naming the field.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { requires } from '@kedge/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyManifests, device, deviceModel, holdingRegister, manifestText, modbusTcp, readHolding, reportedValue, startDeviceNode, startPymodbus, twinTopic, writeHolding, type DeviceNode } from './device-fixtures';
import { fetchMetrics, KedgeProcess, kubectlOk, metricValue, repoRoot, stopAll, tempDir, waitFor } from './harness';
import { CuttableProxy } from './tcp-proxy';

const NODE = 'gw-dmi';
const MAPPER_CLI = join(repoRoot, 'libs', 'edge', 'mappers', 'src', 'cli.ts');
const DMI_PROTO_DIR = join(repoRoot, 'libs', 'edge', 'dmi', 'proto');
const PYTHON_MAPPER = fileURLToPath(new URL('./fixtures/python_dmi_mapper.py', import.meta.url));
/** Debian's python with python3-grpcio and python3-grpc-tools, not a pyenv shim that may come first on PATH */
const SYSTEM_PYTHON = '/usr/bin/python3';
const KUBECTL_POLL = { timeoutMs: 30_000, intervalMs: 250 };

const cleanups: (() => Promise<unknown>)[] = [];
let node: DeviceNode;
let dmiSocket: string;
/** the mappers' own sockets, in a folder of the test's */
let mapperDir: string;

/** A reported value in the Device's DeviceStatus object (KubeEdge 1.23), '' when there is none. */
async function statusValue(deviceName: string, property: string): Promise<string> {
  const out = await kubectlOk({ kubeconfig: node.cloud.kubeconfig }, ['get', 'devicestatus', deviceName, '--ignore-not-found', '-o', `jsonpath={.status.twins[?(@.propertyName=="${property}")].reported.value}`]);
  return out.trim();
}

const waitForStatus = (deviceName: string, property: string, value: string): Promise<void> =>
  waitFor(async () => (await statusValue(deviceName, property)) === value, `${property} ${value} in DeviceStatus ${deviceName}`, KUBECTL_POLL);

/** Waits until edgecore's twin holds the device: KubeEdge's `twin/get` on the edge broker answers with its twin. */
async function waitForEdgeTwin(deviceName: string): Promise<void> {
  const client: MqttClient = await connectAsync(`mqtt://127.0.0.1:${String(node.mqttPort)}`, { reconnectPeriod: 0 });
  try {
    const base = `${twinTopic(deviceName)}/get`;
    let answered = false;
    client.on('message', (topic, payload) => {
      if (topic !== `${base}/result`) return;
      const twin = (JSON.parse(payload.toString('utf8')) as { twin?: Record<string, unknown> }).twin;
      if (twin !== undefined && Object.keys(twin).length > 0) answered = true;
    });
    await client.subscribeAsync(`${base}/result`, { qos: 1 });
    let asked = 0;
    await waitFor(
      async () => {
        await client.publishAsync(base, JSON.stringify({ event_id: `get-${asked++}`, timestamp: 0 }), { qos: 1 });
        await new Promise((resolve) => setTimeout(resolve, 200));
        return answered;
      },
      `${deviceName} in edgecore's twin`,
      { onTimeout: () => `${node.cloud.process.describe()}\n${node.edge.process.describe()}` },
    );
  } finally {
    await client.endAsync(true);
  }
}

/** A child process stopped by pid at the end (SIGKILL, as a crash would). */
function track(child: ChildProcess): void {
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.kill(child.pid, 'SIGKILL');
    await exited;
  });
}

/** kedge's mapper as a user runs it beside edgecore: `cli.ts --dmi-socket … --socket … --protocol modbus`. */
async function startKedgeMapper(): Promise<KedgeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAPPER_CLI, '--dmi-socket', dmiSocket, '--socket', join(mapperDir, 'modbus.sock'), '--protocol', 'modbus'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  const mapper = new KedgeProcess('kedge-mapper', child);
  await mapper.waitForLog((l) => l.msg === 'DMI mapper registered', 'registered with edgecore');
  return mapper;
}

const dmiPeers = await requires('pymodbus', 'python-grpc', 'kubectl');

dmiPeers.describe('devices - DMI mappers outside edgecore, end to end', () => {
  beforeAll(async () => {
    node = await startDeviceNode(NODE, { maxReconnectDelayMs: 500 });
    // edgecore's default DMI socket: <dataDir>/dmi.sock (deviceTwin.dmiSockPath)
    dmiSocket = join(node.edge.dataDir, 'dmi.sock');
    await waitFor(() => existsSync(dmiSocket), `edgecore's DMI socket ${dmiSocket}`, { onTimeout: () => node.edge.process.describe() });
    mapperDir = tempDir('dmi-mappers');
    const dir = mapperDir;
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  }, 90_000);

  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    await stopAll();
  });

  it('kedge mapper process: register → DeviceStatus and Device.status, desired → register, kill -9 and restart re-registers, edgecore never runs the device itself', async () => {
    const peer = await startPymodbus({ 0: 2350, 1: 0 });
    cleanups.push(peer.stop);
    // the mapper reads through this proxy, so the test sees how many readers the peer has
    const proxy = await CuttableProxy.start(peer.port);
    cleanups.push(() => proxy.close());
    const first = await startKedgeMapper();

    await applyManifests(
      node.cloud,
      manifestText(
        deviceModel('boiler', 'modbus', [
          { name: 'temperature', type: 'INT', accessMode: 'ReadOnly', minimum: '-400', maximum: '1250', unit: 'C' },
          { name: 'setpoint', type: 'INT', accessMode: 'ReadWrite', minimum: '5', maximum: '90' },
        ]),
        device('boiler-1', 'boiler', NODE, {
          protocol: modbusTcp(proxy.port),
          properties: [
            { name: 'temperature', collectCycle: 200, reportCycle: 200, visitors: holdingRegister(0, 'int16', { scale: 0.1 }) },
            { name: 'setpoint', collectCycle: 200, reportCycle: 200, desired: { value: '21' }, visitors: holdingRegister(1, 'uint16') },
          ],
        }),
      ),
    );

    // the register (raw 2350 × 0.1) reaches DeviceStatus and the Device.status mirror; the desired 21 is written
    await waitForStatus('boiler-1', 'temperature', '235');
    await waitFor(async () => (await reportedValue(node.cloud.kubeconfig, 'boiler-1', 'temperature')) === '235', 'temperature 235 in Device.status', KUBECTL_POLL);
    await waitFor(() => peer.log().includes('SET hr 1 21'), 'the desired setpoint 21 written to the peer', { onTimeout: () => first.describe() });

    // a desired value set in the cloud reaches the register and comes back as reported
    await kubectlOk({ kubeconfig: node.cloud.kubeconfig }, ['patch', 'device', 'boiler-1', '--type=json', '-p', '[{"op":"replace","path":"/spec/properties/1/desired/value","value":"42"}]']);
    await waitFor(async () => (await readHolding(peer.port, 1)) === 42, 'setpoint 42 on the peer', { timeoutMs: 30_000, intervalMs: 200, onTimeout: () => first.describe() });
    await waitForStatus('boiler-1', 'setpoint', '42');
    expect(proxy.openClients).toBe(1);

    // kill -9: the mapper dies mid-cycle. While it is gone the register changes and a new desired value is set:
    // edgecore's call to the dead mapper fails (retried on registration) and its built-in mapper stays out
    first.kill('SIGKILL');
    await first.waitForExit();
    await writeHolding(peer.port, 0, 2410);
    await kubectlOk({ kubeconfig: node.cloud.kubeconfig }, ['patch', 'device', 'boiler-1', '--type=json', '-p', '[{"op":"replace","path":"/spec/properties/1/desired/value","value":"55"}]']);
    await node.edge.process.waitForLog((l) => l.msg === 'DMI call to mapper failed; retried on the next change or registration' && l.method === 'UpdateDevice', 'the UpdateDevice to the dead mapper failing');
    // a new process registers again: the current device, with the desired value it missed
    const second = await startKedgeMapper();
    await waitForStatus('boiler-1', 'temperature', '241');
    await waitFor(async () => (await readHolding(peer.port, 1)) === 55, 'setpoint 55, set while the mapper was down, on the peer', { timeoutMs: 30_000, intervalMs: 200, onTimeout: () => second.describe() });
    await waitFor(() => proxy.openClients === 1, 'one reader on the peer after the restart', { onTimeout: () => `${proxy.openClients} connections` });
    expect(second.logs.find((l) => l.msg === 'DMI mapper registered')?.devices).toEqual(['default/boiler-1']);

    // edgecore served both registrations and never started its built-in mapper for the device
    const metrics = await fetchMetrics((node.edge.process.logs.find((l) => l.msg === 'edgecore ready')?.ports as { metrics: number }).metrics);
    expect(metricValue(metrics, 'kedge_dmi_requests_total', { method: 'MapperRegister', result: 'ok' })).toBeGreaterThanOrEqual(2);
    expect(node.edge.process.logs.filter((l) => l.device === 'default/boiler-1' && (l.msg === 'mapper started' || l.msg === 'cannot run a mapper for this device'))).toEqual([]);
  }, 150_000);

  it('a Python mapper on grpcio (generated from the repo proto): devices with its registration, Device and DeviceModel calls as they change, reports in DeviceStatus, garbage refused naming the field', async () => {
    // the repo's proto compiled for Python at test time, as a mapper author in another language does
    const generated = tempDir('dmi-python');
    cleanups.push(async () => rmSync(generated, { recursive: true, force: true }));
    await run(SYSTEM_PYTHON, ['-m', 'grpc_tools.protoc', '-I', DMI_PROTO_DIR, `--python_out=${generated}`, `--grpc_python_out=${generated}`, 'dmi-v1beta1.proto']);

    const model = (name: string, setpointMaximum: string): object =>
      deviceModel(name, 'python-virtual', [
        { name: 'temperature', type: 'INT', accessMode: 'ReadOnly' },
        { name: 'setpoint', type: 'INT', accessMode: 'ReadWrite', minimum: '5', maximum: setpointMaximum },
      ]);
    const thermostat = (name: string, modelName: string, baseTemperature: number, setpoint: string): object =>
      device(name, modelName, NODE, {
        protocol: { protocolName: 'python-virtual', configData: { baseTemperature } },
        properties: [
          { name: 'temperature', visitors: { protocolName: 'python-virtual', configData: { channel: 'temperature' } } },
          { name: 'setpoint', desired: { value: setpoint }, visitors: { protocolName: 'python-virtual', configData: { channel: 'setpoint' } } },
        ],
      });
    // py-1 is on the node before the mapper starts: it comes in the registration answer (withData)
    await applyManifests(node.cloud, manifestText(model('thermostat', '30'), thermostat('py-1', 'thermostat', 17, '20')));
    await waitForEdgeTwin('py-1');

    const child = spawn(SYSTEM_PYTHON, [PYTHON_MAPPER, dmiSocket, join(mapperDir, 'python.sock'), 'python-virtual'], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', PYTHONPATH: generated },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    track(child);
    const mapper = new MapperEvents(child);

    const registered = await mapper.next('registered');
    expect(registered).toMatchObject({ devices: ['default/py-1'], models: ['thermostat'] });
    await waitForStatus('py-1', 'temperature', '17');
    await waitForStatus('py-1', 'setpoint', '20');
    expect(await kubectlOk({ kubeconfig: node.cloud.kubeconfig }, ['get', 'devicestatus', 'py-1', '-o', 'jsonpath={.status.state}'])).toBe('online');
    const refused = await mapper.next('refused');
    expect(refused['badValue']).toMatchObject({ code: 'INVALID_ARGUMENT', details: expect.stringContaining('reportedDevice.twins[0].reported.value') });
    expect(refused['unknownDevice']).toMatchObject({ code: 'NOT_FOUND', details: expect.stringContaining('deviceName') });
    expect(await statusValue('py-1', 'temperature')).toBe('17');

    // a new Device of a new model: CreateDeviceModel, then RegisterDevice with its configData (an Int32Value in
    // an Any, decoded by Python)
    await applyManifests(node.cloud, manifestText(model('hygrostat', '30'), thermostat('py-2', 'hygrostat', 30, '12')));
    expect(await mapper.next('RegisterDevice', (e) => e['device'] === 'default/py-2')).toMatchObject({ model: 'hygrostat', desired: { setpoint: '12' } });
    expect(await mapper.next('CreateDeviceModel', (e) => e['model'] === 'hygrostat')).toMatchObject({ properties: ['temperature', 'setpoint'] });
    await waitForStatus('py-2', 'temperature', '30');

    // a changed DeviceModel: UpdateDeviceModel
    await applyManifests(node.cloud, manifestText(model('thermostat', '35')));
    await mapper.next('UpdateDeviceModel', (e) => e['model'] === 'thermostat');

    // a desired value set in the cloud: UpdateDevice
    await kubectlOk({ kubeconfig: node.cloud.kubeconfig }, ['patch', 'device', 'py-1', '--type=json', '-p', '[{"op":"replace","path":"/spec/properties/1/desired/value","value":"25"}]']);
    expect(await mapper.next('UpdateDevice', (e) => e['device'] === 'default/py-1')).toMatchObject({ desired: { setpoint: '25' } });
    await waitForStatus('py-1', 'setpoint', '25');

    // the Device deleted: RemoveDevice, and its model, used by no other device of the mapper, RemoveDeviceModel
    await kubectlOk({ kubeconfig: node.cloud.kubeconfig }, ['delete', 'device', 'py-2']);
    await mapper.next('RemoveDevice', (e) => e['device'] === 'default/py-2');
    await mapper.next('RemoveDeviceModel', (e) => e['model'] === 'hygrostat');
    expect(mapper.count('RemoveDeviceModel')).toBe(1);
  }, 150_000);
});

/** The Python mapper's JSON lines on stdout, awaited one kind at a time. */
class MapperEvents {
  readonly #events: Record<string, unknown>[] = [];
  #stderr = '';

  constructor(private readonly child: ChildProcess) {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        this.#events.push(JSON.parse(buffer.slice(0, newline)) as Record<string, unknown>);
        buffer = buffer.slice(newline + 1);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => (this.#stderr += chunk.toString()));
  }

  /** The first event of `kind` (matching `where`), waiting for it. */
  async next(kind: string, where: (event: Record<string, unknown>) => boolean = () => true): Promise<Record<string, unknown>> {
    let found: Record<string, unknown> | undefined;
    await waitFor(
      () => {
        found = this.#events.find((e) => e['event'] === kind && where(e));
        if (found === undefined && (this.child.exitCode !== null || this.child.signalCode !== null)) throw new Error(`the Python mapper exited:\n${this.describe()}`);
        return found !== undefined;
      },
      `the Python mapper's ${kind} event`,
      { timeoutMs: 30_000, onTimeout: () => this.describe() },
    );
    return found as Record<string, unknown>;
  }

  count(kind: string): number {
    return this.#events.filter((e) => e['event'] === kind).length;
  }

  describe(): string {
    return [...this.#events.map((e) => JSON.stringify(e)), '--- stderr ---', this.#stderr.slice(-4000)].join('\n');
  }
}

/** Runs a command to completion; throws with its output unless it exits 0. */
async function run(command: string, args: string[]): Promise<void> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}:\n${output}`);
}

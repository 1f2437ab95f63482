// Shared by the device end-to-end tests (devices*.test.ts) and tools/bench/devices.ts: DeviceModel and
// Device manifests, a cloudcore with one joined edgecore ready for devices, the KubeEdge twin topics and
// payloads a mapper uses, Device.status queries through kubectl, an in-process Modbus TCP server, Debian's
// pymodbus as an independent Modbus peer, and a Modbus client to read and set a peer's registers.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import ModbusRTU, { ServerTCP } from 'modbus-serial';
import { stringify } from 'yaml';
import { freePort } from '@kedge/testkit';
import { isNodeConnected, issueToken, startCloudCore, startEdgeCore, type CloudCoreHandle, type EdgeCoreHandle, type EdgeCoreSettings } from './cluster';
import { kubectlOk, waitFor } from './harness';

const API_VERSION = 'devices.kubeedge.io/v1beta1';
const NAMESPACE = 'default';

export interface ModelProperty {
  name: string;
  type: 'INT' | 'FLOAT' | 'DOUBLE' | 'STRING' | 'BOOLEAN';
  accessMode: 'ReadOnly' | 'ReadWrite';
  minimum?: string;
  maximum?: string;
  unit?: string;
}

/** A DeviceModel in `default`. */
export function deviceModel(name: string, protocol: string, properties: ModelProperty[]): object {
  return { apiVersion: API_VERSION, kind: 'DeviceModel', metadata: { name, namespace: NAMESPACE }, spec: { protocol, properties } };
}

/** A Device in `default`; `spec` adds protocol and properties to the model reference and node. */
export function device(name: string, model: string, nodeName: string, spec: { protocol?: object; properties?: object[]; methods?: object[] } = {}): object {
  return { apiVersion: API_VERSION, kind: 'Device', metadata: { name, namespace: NAMESPACE }, spec: { deviceModelRef: { name: model }, nodeName, ...spec } };
}

/** A Device's Modbus TCP protocol block: unit 1 at 127.0.0.1:`port`. */
export function modbusTcp(port: number): object {
  return { protocolName: 'modbus', configData: { slaveID: 1, ip: '127.0.0.1', port, timeoutMs: 1000 } };
}

/** A property's visitor reading one holding register. */
export function holdingRegister(offset: number, dataType: 'int16' | 'uint16', extra: Record<string, unknown> = {}): object {
  return { protocolName: 'modbus', configData: { register: 'HoldingRegister', offset, limit: 1, dataType, ...extra } };
}

/** Several manifests as one multi-document YAML for `kubectl apply -f -`. */
export function manifestText(...documents: object[]): string {
  return documents.map((document) => stringify(document)).join('---\n');
}

export interface DeviceNode {
  cloud: CloudCoreHandle;
  edge: EdgeCoreHandle;
  /** the edge's embedded MQTT broker port from its "edgecore ready" line (undefined with an external broker) */
  mqttPort: number | undefined;
}

/** A cloudcore and an edgecore joined to it with a token, once the node is connected and edgecore is ready. */
export async function startDeviceNode(nodeName: string, settings: Omit<EdgeCoreSettings, 'nodeName' | 'token'> = {}): Promise<DeviceNode> {
  const cloud = await startCloudCore();
  const edge = startEdgeCore(cloud, { ...settings, nodeName, token: await issueToken(cloud, ['--node', nodeName]) });
  await cloud.process.waitForLog(isNodeConnected(nodeName), `${nodeName} session`);
  const ready = await edge.process.waitForLog((l) => l.msg === 'edgecore ready', 'edgecore ready');
  return { cloud, edge, mqttPort: (ready.ports as { mqtt?: number } | undefined)?.mqtt };
}

/** `kubectl apply -f -` of manifest text with the cloud's admin kubeconfig. */
export async function applyManifests(cloud: { kubeconfig: string }, text: string): Promise<void> {
  await kubectlOk({ kubeconfig: cloud.kubeconfig }, ['apply', '-f', '-'], text);
}

/** The KubeEdge twin topic prefix of a device in `default`: `<prefix>/update`, `<prefix>/get`, … */
export const twinTopic = (deviceName: string): string => `$hw/events/device/${NAMESPACE}/${deviceName}/twin`;

/** A mapper's twin update (KubeEdge's shape) reporting one property's actual value. */
export function twinUpdate(property: string, value: string, type: string, eventId = 'e1', timestamp = 0): string {
  return JSON.stringify({ event_id: eventId, timestamp, twin: { [property]: { actual: { value }, metadata: { type } } } });
}

/** `.status.twins` of a Device as kubectl prints it (JSON text). */
export async function deviceTwins(kubeconfig: string, deviceName: string): Promise<string> {
  return kubectlOk({ kubeconfig }, ['get', 'device', deviceName, '-o', 'jsonpath={.status.twins}']);
}

/** The reported value of one property in a Device's status ('' when there is none). */
export async function reportedValue(kubeconfig: string, deviceName: string, property: string): Promise<string> {
  const value = await kubectlOk({ kubeconfig }, ['get', 'device', deviceName, '-o', `jsonpath={.status.twins[?(@.propertyName=="${property}")].reported.value}`]);
  return value.trim();
}

/** modbus-serial's ServerTCP (unit 1) on a free loopback port over a plain array of holding registers. */
export async function startModbusServer(hr: number[]): Promise<{ port: number; close: () => Promise<void> }> {
  const port = await freePort();
  const server = new ServerTCP(
    {
      getHoldingRegister: (addr: number) => hr[addr] ?? 0,
      getInputRegister: () => 0,
      getCoil: () => false,
      getDiscreteInput: () => false,
      setRegister: (addr: number, value: number) => {
        hr[addr] = value;
      },
      setCoil: () => undefined,
    },
    { host: '127.0.0.1', port, unitID: 1 },
  );
  server.on('socketError', () => undefined);
  await new Promise<void>((resolve) => server.on('initialized', () => resolve()));
  return {
    port,
    close: async () => {
      for (const socket of server.socks.keys()) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const PYMODBUS_SERVER = fileURLToPath(new URL('../../libs/edge/mappers/test/fixtures/pymodbus_server.py', import.meta.url));

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/**
 * Debian's pymodbus 3.0 (/usr/bin/python3, not a pyenv shim) with holding registers preset, on a free loopback
 * port; `log()` holds its "SET hr <address> <value>" lines. The caller stops it (by pid) with `stop`.
 */
export async function startPymodbus(hr: Record<number, number>): Promise<{ port: number; log: () => string; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn('/usr/bin/python3', [PYMODBUS_SERVER, String(port), JSON.stringify({ hr })], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.kill(child.pid, 'SIGTERM');
    await exited;
  };
  try {
    await waitFor(() => accepts(port), `pymodbus on ${port}`, { onTimeout: () => log });
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, log: () => log, stop };
}

/** One Modbus TCP client connection (unit 1, 2 s timeout) for `use`, closed afterwards. */
export async function withModbusClient<T>(port: number, use: (client: ModbusRTU) => Promise<T>): Promise<T> {
  const client = new ModbusRTU();
  await client.connectTCP('127.0.0.1', { port });
  client.setID(1);
  client.setTimeout(2000);
  try {
    return await use(client);
  } finally {
    await new Promise<void>((resolve) => client.close(() => resolve()));
  }
}

export const readHolding = (port: number, address: number): Promise<number> =>
  withModbusClient(port, async (client) => (await client.readHoldingRegisters(address, 1)).data[0] ?? NaN);

export const writeHolding = (port: number, address: number, value: number): Promise<void> =>
  withModbusClient(port, async (client) => {
    await client.writeRegister(address, value);
  });

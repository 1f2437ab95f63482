// Test helpers: free ports, an in-process aedes broker, modbus-serial's ServerTCP over plain arrays, and Debian's
// pymodbus as an independent peer. Everything returns a stop function; tests register it with Cleanup.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { ServerTCP } from 'modbus-serial';
import { waitFor } from '@kedge/testkit';
import type { Device, DeviceModel } from '../src/index';

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Broker {
  url: string;
  stop(): Promise<void>;
}

export async function startBroker(): Promise<Broker> {
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `mqtt://127.0.0.1:${port}`,
    stop: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function connectClient(url: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 100 });
}

export interface ModbusTables {
  hr: number[];
  ir: number[];
  co: boolean[];
  di: boolean[];
}

export function emptyTables(): ModbusTables {
  return { hr: Array(200).fill(0), ir: Array(200).fill(0), co: Array(200).fill(false), di: Array(200).fill(false) };
}

export async function startModbusServer(tables: ModbusTables, port?: number): Promise<{ port: number; stop(): Promise<void> }> {
  const p = port ?? (await freePort());
  const server = new ServerTCP(
    {
      getHoldingRegister: (addr: number) => tables.hr[addr] ?? 0,
      getInputRegister: (addr: number) => tables.ir[addr] ?? 0,
      getCoil: (addr: number) => tables.co[addr] ?? false,
      getDiscreteInput: (addr: number) => tables.di[addr] ?? false,
      setRegister: (addr: number, value: number) => {
        tables.hr[addr] = value;
      },
      setCoil: (addr: number, value: boolean) => {
        tables.co[addr] = value;
      },
    },
    { host: '127.0.0.1', port: p, unitID: 1 },
  );
  server.on('socketError', () => undefined);
  await new Promise<void>((resolve) => server.on('initialized', () => resolve()));
  return {
    port: p,
    stop: async () => {
      for (const sock of server.socks.keys()) sock.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface PyPeer {
  port: number;
  sets: string[];
  log(): string;
  process: ChildProcess;
  stop(): Promise<void>;
}

const PY_SERVER = fileURLToPath(new URL('./fixtures/pymodbus_server.py', import.meta.url));

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Debian's pymodbus (/usr/bin/python3, not the pyenv python on PATH) serving the given tables */
export async function startPymodbus(init: Record<string, Record<number, number>>): Promise<PyPeer> {
  const port = await freePort();
  const child = spawn('/usr/bin/python3', [PY_SERVER, String(port), JSON.stringify(init)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const sets: string[] = [];
  let log = '';
  let partial = '';
  child.stdout.on('data', (d: Buffer) => {
    log += d.toString();
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('SET ')) sets.push(line.trim());
  });
  child.stderr.on('data', (d: Buffer) => {
    log += d.toString();
  });
  await waitFor(() => canConnect(port), `pymodbus on ${port}`, { onTimeout: () => log });
  return {
    port,
    sets,
    log: () => log,
    process: child,
    stop: async () => {
      if (child.exitCode !== null || child.pid === undefined) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      process.kill(child.pid, 'SIGTERM');
      await exited;
    },
  };
}

export function model(name: string, properties: DeviceModel['spec']['properties']): DeviceModel {
  return { metadata: { name, namespace: 'default' }, spec: { properties } };
}

export function device(
  name: string,
  modelName: string,
  protocol: Device['spec']['protocol'],
  properties: Device['spec']['properties'],
): Device {
  return { metadata: { name, namespace: 'default' }, spec: { deviceModelRef: { name: modelName }, protocol, properties } };
}

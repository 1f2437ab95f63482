// Shared test fixtures: an EventBus on a free loopback port, real mqtt.js clients, and a real
// mosquitto (Debian package) started with its own config file and stopped by pid.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { createLogger, type Logger } from '@kedge/telemetry';
import { waitFor, type Cleanup } from '@kedge/testkit';
import { Registry } from 'prom-client';
import { EventBus, type EventBusOptions } from '../src/index';

export { Cleanup, metricValue, waitFor } from '@kedge/testkit';

export const silentLogger: Logger = createLogger({ name: 'eventbus-test', level: 'silent' });

export function tempDir(cleanup: Cleanup, prefix = 'kedge-eventbus-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface StartedBus {
  bus: EventBus;
  registry: Registry;
  /** mqtt://127.0.0.1:<port> of the internal broker (internal and both modes) */
  url: string;
}

/** An EventBus (internal on 127.0.0.1:0 unless told otherwise), stopped by `cleanup`. */
export async function startBus(cleanup: Cleanup, options: Partial<EventBusOptions> = {}): Promise<StartedBus> {
  const registry = new Registry();
  const bus = new EventBus({ nodeName: 'gw-1', logger: silentLogger, registry, ...options, internal: { port: 0, ...options.internal } });
  await bus.start();
  cleanup.add(() => bus.stop());
  const address = bus.internalAddress;
  return { bus, registry, url: address ? `mqtt://127.0.0.1:${address.port}` : '' };
}

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
  qos: number;
}

export interface TestClient {
  client: MqttClient;
  received: Received[];
  subscribe(filter: string, qos?: 0 | 1): Promise<void>;
}

/** A real mqtt.js client recording what it receives, ended by `cleanup`. */
export async function mqttClient(cleanup: Cleanup, url: string, options: IClientOptions = {}): Promise<TestClient> {
  const client = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
  cleanup.add(() => client.endAsync(true));
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), retain: packet.retain, qos: packet.qos }));
  return {
    client,
    received,
    async subscribe(filter, qos = 1) {
      await client.subscribeAsync(filter, { qos });
    },
  };
}

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface Mosquitto {
  port: number;
  url: string;
  pid: number;
  /** stops it (SIGTERM by pid) and waits for the exit; also done by cleanup */
  stop(): Promise<void>;
}

/** A real mosquitto on 127.0.0.1:<port> with its own config (anonymous, no persistence, stays root). */
export async function startMosquitto(cleanup: Cleanup, port?: number): Promise<Mosquitto> {
  const dir = tempDir(cleanup, 'kedge-mosquitto-');
  const listenPort = port ?? (await freePort());
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [`listener ${listenPort} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'user root', 'log_dest stderr', 'log_type error', 'log_type warning', ''].join('\n'),
  );
  const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const pid = child.pid;
  if (pid === undefined) throw new Error('mosquitto did not start (is the Debian package installed? bash tools/install-system-deps.sh)');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGTERM');
    await exited;
  };
  cleanup.add(stop);
  await waitFor(() => portOpen(listenPort), `mosquitto listening on 127.0.0.1:${listenPort}`, {
    timeoutMs: 15_000,
    onTimeout: () => `mosquitto stderr: ${stderr}`,
  });
  return { port: listenPort, url: `mqtt://127.0.0.1:${listenPort}`, pid, stop };
}

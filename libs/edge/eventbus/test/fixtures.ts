// Shared test fixtures: an EventBus on a free loopback port, real mqtt.js clients, and a real
// mosquitto (Debian package) started with its own config file and stopped by pid.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { createLogger, type Logger } from '@kedge/telemetry';
import type { Cleanup } from '@kedge/testkit';
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

/**
 * Loopback clients may do anything: these tests are about delivery, not access (the threat tests use
 * the defaults). `$hw/#` besides `#` because `#` never matches a `$` topic.
 */
export const OPEN_ANONYMOUS = { publish: ['#', '$hw/#'], subscribe: ['#', '$hw/#'] };

/** An EventBus (internal on 127.0.0.1:0, open to loopback clients, unless told otherwise), stopped by `cleanup`. */
export async function startBus(cleanup: Cleanup, options: Partial<EventBusOptions> = {}): Promise<StartedBus> {
  const registry = new Registry();
  const bus = new EventBus({ nodeName: 'gw-1', logger: silentLogger, registry, ...options, internal: { port: 0, anonymous: OPEN_ANONYMOUS, ...options.internal } });
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

export { freePort, startMosquitto, type Mosquitto } from '@kedge/testkit';

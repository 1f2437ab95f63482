// Shared fixtures: a whole edge twin (real EventBus with its aedes broker on 127.0.0.1:0, a real
// TwinStore in a temp dir, a real router) with a recording reporter standing in for the outbox,
// cloud down messages shaped as the README describes, and a real mqtt.js "mapper".
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus, type TopicRules } from '@kedge/eventbus';
import { newMessage, type Message } from '@kedge/protocol';
import { MessageRouter } from '@kedge/router';
import { createLogger, type Logger } from '@kedge/telemetry';
import { waitFor, type Cleanup } from '@kedge/testkit';
import { connectAsync, type MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { DeviceTwin, TwinStore, type DeviceTwinOptions, type TwinReporter } from '../src/index';

export { Cleanup, metricValue, waitFor } from '@kedge/testkit';

export const silentLogger: Logger = createLogger({ name: 'devicetwin-test', level: 'silent' });
export const NODE = 'gw-1';

export function tempDir(cleanup: Cleanup): string {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-devicetwin-'));
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function openStore(cleanup: Cleanup, file = join(tempDir(cleanup), 'twin.db')): TwinStore {
  const store = new TwinStore({ file });
  cleanup.add(() => store.close());
  return store;
}

/** Records what the twin queues for the cloud; `failing` makes report() throw like a closed outbox. */
export class RecordingReporter implements TwinReporter {
  readonly messages: Message[] = [];
  failing = false;

  report(message: Message): number {
    if (this.failing) throw new Error('outbox closed');
    this.messages.push(message);
    return this.messages.length;
  }

  /** The latest queued report per resource, as an outbox that keeps the latest would hold it. */
  latest(resource: string): Message | undefined {
    return this.messages.filter((message) => message.route.resource === resource).at(-1);
  }
}

export interface Edge {
  bus: EventBus;
  url: string;
  port: number;
  store: TwinStore;
  router: MessageRouter;
  twin: DeviceTwin;
  reporter: RecordingReporter;
  answers: Message[];
  registry: Registry;
}

/** A real EventBus, store, router and DeviceTwin; everything is stopped by `cleanup`. */
export async function startEdge(cleanup: Cleanup, options: Partial<DeviceTwinOptions> & { file?: string; anonymous?: TopicRules } = {}): Promise<Edge> {
  const registry = new Registry();
  // the broker's default rules unless a test opens more (the mapper client here is anonymous on loopback)
  const bus = new EventBus({ nodeName: NODE, logger: silentLogger, registry, internal: { port: 0, ...(options.anonymous ? { anonymous: options.anonymous } : {}) } });
  await bus.start();
  cleanup.add(() => bus.stop());
  const store = openStore(cleanup, options.file);
  const router = new MessageRouter({ onHandlerError: (error) => console.error('handler failed', error) });
  cleanup.add(() => router.close());
  const reporter = new RecordingReporter();
  const answers: Message[] = [];
  const twin = new DeviceTwin({ store, bus, router, reporter, answer: (message) => void answers.push(message), nodeName: NODE, logger: silentLogger, registry, ...options });
  cleanup.add(() => twin.stop());
  const port = bus.internalAddress?.port ?? 0;
  return { bus, url: `mqtt://127.0.0.1:${port}`, port, store, router, twin, reporter, answers, registry };
}

export interface PropertyOptions {
  name: string;
  type: string;
  accessMode?: string;
  minimum?: number | string;
  maximum?: number | string;
  unit?: string;
}

/** The thermostat model used across tests. */
export const THERMOSTAT: PropertyOptions[] = [
  { name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly', minimum: -40, maximum: 125, unit: 'C' },
  { name: 'setpoint', type: 'INT', accessMode: 'ReadWrite', minimum: '5', maximum: '30', unit: 'C' },
  { name: 'power', type: 'BOOLEAN', accessMode: 'ReadWrite' },
  { name: 'label', type: 'STRING', accessMode: 'ReadWrite' },
];

export interface DeviceOptions {
  name: string;
  namespace?: string;
  rv: string;
  properties?: PropertyOptions[];
  desired?: Record<string, unknown>;
  attributes?: Record<string, string>;
}

/** A Device as the DeviceController sends it (README "Down messages"). */
export function device(options: DeviceOptions): Record<string, unknown> {
  return {
    namespace: options.namespace ?? 'default',
    name: options.name,
    resourceVersion: options.rv,
    description: `${options.name} in the lab`,
    model: { name: 'thermostat', properties: options.properties ?? THERMOSTAT },
    attributes: options.attributes ?? { vendor: 'acme' },
    properties: Object.entries(options.desired ?? {}).map(([name, value]) => ({ name, desired: { value, metadata: { timestamp: '1700000000000' } } })),
  };
}

export function membershipMessage(devices: Record<string, unknown>[], rv: string): Message {
  return newMessage({ source: 'devicecontroller', group: 'twin', operation: 'update', resource: `null/membership/${NODE}`, content: { resourceVersion: rv, devices } });
}

export function deviceMessage(content: Record<string, unknown>, operation = 'update'): Message {
  const { namespace, name } = content as { namespace: string; name: string };
  return newMessage({ source: 'devicecontroller', group: 'twin', operation, resource: `${namespace}/device/${name}`, content });
}

export interface Received {
  topic: string;
  body: Record<string, unknown>;
  raw: string;
}

/** A real MQTT client on the edge broker that sees every `$hw/events/#` message. */
export class Mapper {
  readonly received: Received[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      const raw = payload.toString();
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        // kept raw
      }
      this.received.push({ topic, body, raw });
    });
  }

  static async connect(cleanup: Cleanup, url: string): Promise<Mapper> {
    const client = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000 });
    cleanup.add(() => client.endAsync(true));
    await client.subscribeAsync('$hw/events/#', { qos: 1 });
    return new Mapper(client);
  }

  on(topic: string): Received[] {
    return this.received.filter((message) => message.topic === topic);
  }

  /** Publishes and waits for the next message on `answerTopic`. */
  async request(topic: string, payload: unknown, answerTopic: string): Promise<Record<string, unknown>> {
    const before = this.on(answerTopic).length;
    await this.client.publishAsync(topic, typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload), { qos: 1 });
    await waitFor(() => this.on(answerTopic).length > before, `an answer on ${answerTopic}`, { timeoutMs: 10_000, intervalMs: 5 });
    return this.on(answerTopic)[before]?.body ?? {};
  }

  /** Waits until `count` messages arrived on `topic`; returns the last. */
  async next(topic: string, count: number): Promise<Record<string, unknown>> {
    await waitFor(() => this.on(topic).length >= count, `${count} message(s) on ${topic}`, { timeoutMs: 10_000 });
    return this.on(topic)[count - 1]?.body ?? {};
  }
}

export const topic = (id: string, suffix: string): string => `$hw/events/device/${id}/${suffix}`;

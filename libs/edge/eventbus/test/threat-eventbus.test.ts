// Threat suite, item 6 (local services on the gateway): the embedded MQTT broker. A twin delta on
// `$hw/events/device/<ns>/<name>/twin/update/delta` makes a mapper write to an actuator (a Modbus coil, a
// BLE characteristic), so only the twin (in-process, as the broker) may publish it. Real aedes on real
// sockets, real mqtt.js clients and the real mosquitto_pub / mosquitto_sub.
import { execFile, spawn } from 'node:child_process';
import { lanAddress, requires } from '@kedge/testkit';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus, type BusMessage } from '../src/index';
import { Cleanup, metricValue, silentLogger, waitFor } from './fixtures';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const DELTA = '$hw/events/device/plant/valve-1/twin/update/delta';
const OPEN_VALVE = JSON.stringify({ event_id: 'evil', timestamp: 1, twin: { position: { expected: { value: '100' } } } });

/** An EventBus as edgecore starts it: defaults only, but a free port. */
async function defaultBus(internal: Record<string, unknown> = {}) {
  const registry = new Registry();
  const bus = new EventBus({ nodeName: 'gw-1', logger: silentLogger, registry, internal: { port: 0, ...internal } });
  await bus.start();
  cleanup.add(() => bus.stop());
  const seen: BusMessage[] = [];
  bus.subscribe('$hw/events/#', (message) => void seen.push(message));
  return { bus, registry, port: bus.internalAddress?.port ?? 0, seen };
}

async function client(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const connected = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
  cleanup.add(() => connected.endAsync(true));
  return connected;
}

/** What a mapper on the bus would act on: deltas delivered to the in-process (trusted) client. */
async function mapperView(bus: EventBus): Promise<string[]> {
  const options = bus.localClientOptions();
  const mapper = await client(options.url, options);
  const deltas: string[] = [];
  mapper.on('message', (topic, payload) => topic === DELTA && deltas.push(payload.toString()));
  await mapper.subscribeAsync('$hw/events/device/+/+/twin/update/delta', { qos: 1 });
  return deltas;
}

/** Publishes `marker` as the broker and waits until `subscriber` saw it: everything sent before has been routed. */
async function settle(bus: EventBus, subscriber: MqttClient, topic: string): Promise<void> {
  let seen = false;
  subscriber.on('message', (t) => {
    if (t === topic) seen = true;
  });
  await bus.publish(topic, 'marker', { qos: 1 });
  await waitFor(() => seen, `marker on ${topic}`);
}

/** The QoS granted per filter; mqtt.js rejects a SUBACK with a refusal (0x80), which is what we look for. */
async function granted(subscriber: MqttClient, filters: string[]): Promise<number[]> {
  try {
    return (await subscriber.subscribeAsync(filters, { qos: 1 })).map((grant) => grant.qos);
  } catch (error) {
    const packet = (error as { packet?: { granted?: number[] } }).packet;
    if (packet?.granted === undefined) throw error;
    return packet.granted;
  }
}

describe('threat - the gateway MQTT bus (mqtt.js)', () => {
  it('attack - an anonymous client publishing a twin delta is refused', async () => {
    const { bus, registry, port, seen } = await defaultBus();
    const deltas = await mapperView(bus);
    const attacker = await client(`mqtt://127.0.0.1:${port}`);
    const closed = new Promise<void>((resolve) => attacker.once('close', () => resolve()));
    attacker.publish(DELTA, OPEN_VALVE, { qos: 1 });
    await closed; // the broker drops a client that publishes where it may not
    const options = bus.localClientOptions();
    const probe = await client(options.url, options);
    await probe.subscribeAsync('$hw/events/device/+/+/twin/update/result', { qos: 1 });
    await settle(bus, probe, '$hw/events/device/plant/valve-1/twin/update/result');
    expect(deltas).toEqual([]);
    expect(seen.filter((message) => message.topic === DELTA)).toEqual([]);
    expect(await metricValue(registry, 'kedge_eventbus_refused_total', { reason: 'publish_denied' })).toBe(1);
  });

  it('attack - an anonymous client subscribing to # (or to a topic it may not read) is refused', async () => {
    const { bus, registry, port } = await defaultBus();
    const eavesdropper = await client(`mqtt://127.0.0.1:${port}`);
    expect(await granted(eavesdropper, ['#', 'app/secret/#'])).toEqual([128, 128]);
    const overheard: string[] = [];
    eavesdropper.on('message', (topic) => overheard.push(topic));
    await bus.publish('app/secret/recipe', 'r', { qos: 1 });
    // a loopback device client still reads the device contract (results, deltas) it needs
    const reader = await client(`mqtt://127.0.0.1:${port}`);
    expect(await granted(reader, ['$hw/events/device/+/+/twin/update/result'])).toEqual([1]);
    await settle(bus, reader, '$hw/events/device/plant/valve-1/twin/update/result');
    expect(overheard).toEqual([]);
    expect(await metricValue(registry, 'kedge_eventbus_refused_total', { reason: 'subscribe_denied' })).toBe(2);
  });

  it('attack - a user without the topic rule is refused; a wrong password is refused; the allowed topics work', async () => {
    const users = [{ username: 'sensor', password: 'sensor-password-0123', publish: ['$hw/events/device/+/+/twin/update'], subscribe: ['$hw/events/device/+/+/twin/update/result'] }];
    const { registry, port, seen } = await defaultBus({ users, anonymous: false });
    const url = `mqtt://127.0.0.1:${port}`;
    await expect(connectAsync(url, { username: 'sensor', password: 'guess', reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password|Not authorized/i);
    await expect(connectAsync(url, { reconnectPeriod: 0 })).rejects.toThrow(/Not authorized|Bad username/i);
    const sensor = await client(url, { username: 'sensor', password: 'sensor-password-0123' });
    expect(await granted(sensor, ['#', '$hw/events/device/+/+/twin/update/delta'])).toEqual([128, 128]);
    await sensor.publishAsync('$hw/events/device/plant/valve-1/twin/update', '{"twin":{}}', { qos: 1 });
    await waitFor(() => seen.some((message) => message.topic === '$hw/events/device/plant/valve-1/twin/update'), 'the allowed report');
    const closed = new Promise<void>((resolve) => sensor.once('close', () => resolve()));
    sensor.publish(DELTA, OPEN_VALVE, { qos: 1 });
    await closed;
    expect(seen.filter((message) => message.topic === DELTA)).toEqual([]);
    expect(await metricValue(registry, 'kedge_eventbus_refused_total', { reason: 'bad_credentials' })).toBe(1);
    expect(await metricValue(registry, 'kedge_eventbus_refused_total', { reason: 'anonymous_refused' })).toBe(1);
    expect(await metricValue(registry, 'kedge_eventbus_refused_total', { reason: 'publish_denied' })).toBe(1);
  });

  it('attack - a non-loopback listener without authentication refuses to start', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.20']) {
      expect(() => new EventBus({ nodeName: 'gw-1', logger: silentLogger, registry: new Registry(), internal: { host, port: 0 } }), host).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTION', field: 'internal.users', message: expect.stringContaining('without authentication') }),
      );
    }
  });

  it('attack - an anonymous client from the LAN is refused by a listener open beyond loopback', async () => {
    const lan = lanAddress();
    const users = [{ username: 'hmi', password: 'hmi-password-0123456', publish: ['app/#'], subscribe: ['app/#'] }];
    const { port } = await defaultBus({ host: '0.0.0.0', users });
    // loopback clients keep the device contract; the same anonymous client from the LAN is refused
    await client(`mqtt://127.0.0.1:${port}`);
    await expect(connectAsync(`mqtt://${lan}:${port}`, { reconnectPeriod: 0, connectTimeout: 5_000 })).rejects.toThrow(/Not authorized|Bad username/i);
    await client(`mqtt://${lan}:${port}`, { username: 'hmi', password: 'hmi-password-0123456' });
  });
});

const clients = await requires('mosquitto-clients');

function mosquittoSub(port: number, filter: string): { output: () => string; stopped: Promise<void> } {
  let output = '';
  const child = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', filter, '-v', '-W', '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stopped = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanup.add(async () => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    await stopped;
  });
  return { output: () => output, stopped };
}

clients.describe('threat - the gateway MQTT bus (mosquitto-clients)', () => {
  it('attack - mosquitto_pub publishing a twin delta anonymously is refused, and mosquitto_sub -t "#" hears nothing', async () => {
    const { bus, registry, port, seen } = await defaultBus();
    const deltas = await mapperView(bus);
    const everything = mosquittoSub(port, '#');
    await waitFor(async () => (await metricValue(registry, 'kedge_eventbus_refused_total', { reason: 'subscribe_denied' })) === 1, 'the # subscription refused');
    await new Promise<void>((resolve) => execFile('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', DELTA, '-m', OPEN_VALVE], () => resolve()));
    await bus.publish('app/line-1/speed', '42', { qos: 1 });
    const options = bus.localClientOptions();
    const probe = await client(options.url, options);
    await probe.subscribeAsync('$hw/events/device/+/+/twin/update/result', { qos: 1 });
    await settle(bus, probe, '$hw/events/device/plant/valve-1/twin/update/result');
    expect(deltas).toEqual([]);
    expect(seen.filter((message) => message.topic === DELTA)).toEqual([]);
    expect(await metricValue(registry, 'kedge_eventbus_refused_total', { reason: 'publish_denied' })).toBe(1);
    await everything.stopped;
    expect(everything.output()).not.toContain('app/line-1/speed');
  });
});

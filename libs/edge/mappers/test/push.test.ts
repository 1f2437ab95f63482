// pushMethod delivery on real parts: a node http receiver and an aedes MQTT broker on loopback ports, each also
// down first and up later (the retry queue delivers, its bound holds, oldest values are the ones dropped).
import http from 'node:http';
import net from 'node:net';
import { Aedes } from 'aedes';
import { afterEach, describe, expect, it } from 'vitest';
import { Cleanup, waitFor } from '@kedge/testkit';
import { createMetricsRegistry } from '@kedge/telemetry';
import type { MapperError} from '../src/index';
import { DeviceRunner, MapperMetrics, PushQueue, VirtualDriver, type PushMessage } from '../src/index';
import { connectClient, device, freePort, model, startBroker } from './helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function startReceiver(port: number, status = 200): Promise<{ bodies: PushMessage[]; paths: string[]; stop(): Promise<void> }> {
  const bodies: PushMessage[] = [];
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      paths.push(`${req.method ?? ''} ${req.url ?? ''} ${req.headers['content-type'] ?? ''}`);
      if (status === 200) bodies.push(JSON.parse(body) as PushMessage);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    bodies,
    paths,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function startBrokerOn(port: number): Promise<{ stop(): Promise<void> }> {
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    stop: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const meterModel = model('meter', [
  { name: 'power', type: 'int', accessMode: 'ReadOnly', minimum: 0, maximum: 1000 },
  { name: 'mode', type: 'string', accessMode: 'ReadOnly' },
]);

function message(n: number): PushMessage {
  return { namespace: 'default', deviceName: 'm', propertyName: 'power', value: String(n), type: 'int', timestamp: n };
}

async function metric(registry: ReturnType<typeof createMetricsRegistry>, name: string, labels: Record<string, string>): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
}

describe('pushMethod', () => {
  it('push - each collected value goes to the http and mqtt targets (KubeEdge field names); dbMethod is reported unsupported', async () => {
    const httpPort = await freePort();
    const receiver = await startReceiver(httpPort);
    cleanup.add(() => receiver.stop());
    const broker = await startBroker();
    cleanup.add(() => broker.stop());
    const twinClient = await connectClient(broker.url);
    cleanup.add(() => twinClient.endAsync(true));
    const app = await connectClient(broker.url);
    cleanup.add(() => app.endAsync(true));
    const appMessages: { topic: string; body: PushMessage; retain: boolean }[] = [];
    app.on('message', (topic, payload, packet) => appMessages.push({ topic, body: JSON.parse(payload.toString()) as PushMessage, retain: packet.retain }));
    await app.subscribeAsync('plant/meters/#', { qos: 1 });

    const registry = createMetricsRegistry({ defaultMetrics: false });
    const spec = device('meter-1', 'meter', { protocolName: 'virtual', configData: {} }, [
      {
        name: 'power',
        visitors: { protocolName: 'virtual', configData: { kind: 'randomWalk', initial: 500, step: 10 } },
        collectCycle: 50,
        reportCycle: 1000,
        pushMethod: {
          http: { hostName: 'http://127.0.0.1', port: httpPort, requestPath: '/ingest/power', timeout: 2000 },
          mqtt: { address: broker.url.replace('mqtt:', 'tcp:'), topic: 'plant/meters/power', qos: 1, retained: false },
        },
      },
      {
        name: 'mode',
        visitors: { protocolName: 'virtual', configData: { kind: 'constant', initial: 'auto' } },
        collectCycle: 50,
        pushMethod: { dbMethod: { influxdb2: { influxdb2ClientConfig: { url: 'http://127.0.0.1:8086', org: 'o', bucket: 'b' } } } },
      },
    ]);
    const runner = new DeviceRunner({ device: spec, model: meterModel, driver: new VirtualDriver({}, 'default/meter-1'), mqtt: twinClient, metrics: new MapperMetrics(registry) });
    const faults: MapperError[] = [];
    runner.on('fault', (e) => faults.push(e));
    cleanup.add(() => runner.stop());
    await runner.start();

    await waitFor(() => receiver.bodies.length >= 3 && appMessages.length >= 3, 'values at both targets', { timeoutMs: 30_000 });
    expect(receiver.paths[0]).toBe('POST /ingest/power application/json');
    expect(receiver.bodies[0]).toMatchObject({ namespace: 'default', deviceName: 'meter-1', propertyName: 'power', type: 'int', value: expect.stringMatching(/^\d+$/), timestamp: expect.any(Number) });
    expect(appMessages[0]).toMatchObject({ topic: 'plant/meters/power', retain: false, body: { deviceName: 'meter-1', propertyName: 'power' } });
    // only `power` has http/mqtt targets
    expect([...receiver.bodies, ...appMessages.map((m) => m.body)].every((b) => b.propertyName === 'power')).toBe(true);

    const unsupported = faults.find((f) => f.code === 'UNSUPPORTED_PUSH_METHOD');
    expect(unsupported).toMatchObject({ device: 'default/meter-1', property: 'mode', field: 'spec.properties[1].pushMethod.dbMethod.influxdb2' });
    expect(await metric(registry, 'kedge_mapper_push_unsupported_total', { kind: 'dbMethod.influxdb2' })).toBe(1);
    expect(await metric(registry, 'kedge_mapper_push_total', { method: 'http', result: 'delivered' })).toBeGreaterThanOrEqual(3);
    expect(await metric(registry, 'kedge_mapper_push_total', { method: 'mqtt', result: 'delivered' })).toBeGreaterThanOrEqual(3);
    // the device keeps running: mode is still collected and reported
    expect(runner.values.mode).toBe('auto');
  });

  it('push - an http receiver down then up: the retry queue delivers the newest values, the bound holds, drops are counted', async () => {
    const port = await freePort();
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const queue = new PushQueue({ method: 'http', url: `http://127.0.0.1:${port}/in`, timeoutMs: 1000 }, { limit: 3, retryMs: 50, maxRetryMs: 200, metrics: new MapperMetrics(registry) });
    cleanup.add(() => queue.close());
    for (let n = 1; n <= 10; n++) queue.push(message(n));
    await waitFor(async () => (await metric(registry, 'kedge_mapper_push_total', { method: 'http', result: 'failed' })) >= 2, 'failed tries while down');
    expect(queue.length).toBe(3);
    expect(queue.dropped).toBe(7);
    expect(await metric(registry, 'kedge_mapper_push_dropped_total', { method: 'http' })).toBe(7);
    const receiver = await startReceiver(port);
    cleanup.add(() => receiver.stop());
    await waitFor(() => receiver.bodies.length === 3, 'queued values delivered', { timeoutMs: 30_000 });
    expect(receiver.bodies.map((b) => b.value)).toEqual(['8', '9', '10']);
    await waitFor(() => queue.length === 0, 'queue empty once the answers are in');
    queue.push(message(11));
    await waitFor(() => receiver.bodies.length === 4, 'later value');
  });

  it('push - an http receiver answering 500 is retried, not taken as delivered', async () => {
    const port = await freePort();
    const failing = await startReceiver(port, 500);
    const queue = new PushQueue({ method: 'http', url: `http://127.0.0.1:${port}/in`, timeoutMs: 1000 }, { limit: 10, retryMs: 50, maxRetryMs: 100 });
    cleanup.add(() => queue.close());
    queue.push(message(1));
    await waitFor(() => failing.paths.length >= 2, 'retried after 500');
    expect(queue.length).toBe(1);
    await failing.stop();
    const receiver = await startReceiver(port);
    cleanup.add(() => receiver.stop());
    await waitFor(() => receiver.bodies.length === 1, 'delivered once up', { timeoutMs: 30_000 });
    expect(receiver.bodies[0]?.value).toBe('1');
  });

  it('push - an MQTT broker down then up: queued values are published once it is back', async () => {
    const port = await freePort();
    const queue = new PushQueue({ method: 'mqtt', address: `mqtt://127.0.0.1:${port}`, topic: 'app/values', qos: 1, retained: true }, { limit: 2, retryMs: 50, maxRetryMs: 300 });
    cleanup.add(() => queue.close());
    for (let n = 1; n <= 5; n++) queue.push(message(n));
    await waitFor(() => queue.dropped === 3, 'bound holds while down');
    const broker = await startBrokerOn(port);
    cleanup.add(() => broker.stop());
    await waitFor(() => queue.length === 0, 'queue drained once the broker is up', { timeoutMs: 30_000 });
    // retained: a subscriber that comes later still gets the newest value
    const late = await connectClient(`mqtt://127.0.0.1:${port}`);
    cleanup.add(() => late.endAsync(true));
    const got: PushMessage[] = [];
    late.on('message', (_topic, payload) => got.push(JSON.parse(payload.toString()) as PushMessage));
    await late.subscribeAsync('app/values', { qos: 1 });
    await waitFor(() => got.length >= 1, 'retained value');
    expect(got[0]?.value).toBe('5');
  });

  it('push - bad pushMethod configs are refused naming the field', () => {
    const bad = (pushMethod: Record<string, unknown>) => {
      const spec = device('m', 'meter', { protocolName: 'virtual', configData: {} }, [{ name: 'power', visitors: { protocolName: 'virtual', configData: {} }, pushMethod }]);
      try {
        new DeviceRunner({ device: spec, model: meterModel, driver: new VirtualDriver({}, 'default/m'), mqtt: undefined as never });
      } catch (error) {
        return (error as MapperError).field;
      }
      return 'accepted';
    };
    expect(bad({ http: { port: 80 } })).toBe('spec.properties[0].pushMethod.http.hostName');
    expect(bad({ http: { hostName: 'h', port: 70000 } })).toBe('spec.properties[0].pushMethod.http.port');
    expect(bad({ mqtt: { address: '127.0.0.1:1883', topic: 't' } })).toBe('spec.properties[0].pushMethod.mqtt.address');
    expect(bad({ mqtt: { address: 'mqtt://h:1883', topic: 'a/#' } })).toBe('spec.properties[0].pushMethod.mqtt.topic');
    expect(bad({ mqtt: { address: 'mqtt://h:1883', topic: 'a', qos: 3 } })).toBe('spec.properties[0].pushMethod.mqtt.qos');
    expect(bad({ http: { hostName: '127.0.0.1', port: 8080, requestPath: '/x' } })).toBe('accepted');
  });
});

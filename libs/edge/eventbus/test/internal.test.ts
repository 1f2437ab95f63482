// EventBus in internal mode with a real aedes broker on 127.0.0.1:0 and real mqtt.js clients:
// delivery both ways, QoS and retain, handler isolation, payload limits, auth and TLS.
import { newMessage } from '@kedge/protocol';
import { MessageRouter } from '@kedge/router';
import { createTestPki } from '@kedge/testkit';
import { connectAsync } from 'mqtt';
import { createRequire } from 'node:module';
import { writeToStream } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus, EventBusError, type BusMessage } from '../src/index';
import { Registry } from 'prom-client';
import { Cleanup, metricValue, mqttClient, silentLogger, startBus, waitFor } from './fixtures';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

describe('EventBus internal broker', () => {
  it("footprint - packet ids above 255 go both ways without mqtt-packet's 65,536-Buffer number cache", async () => {
    const { bus, url } = await startBus(cleanup);
    // the cache is process-wide and filled on the first packet written unless turned off before it
    expect(writeToStream.cacheNumbers).toBe(false);
    const seen: string[] = [];
    bus.subscribe('app/count', (message) => void seen.push(message.payload.toString()));
    const app = await mqttClient(cleanup, url);
    await app.subscribe('app/echo', 1);
    // 300 QoS 1 messages each way: message ids 1..300 are written as two-byte numbers by both sides
    for (let i = 0; i < 300; i++) await app.client.publishAsync('app/count', String(i), { qos: 1 });
    for (let i = 0; i < 300; i++) await bus.publish('app/echo', String(i), { qos: 1 });
    await waitFor(() => seen.length === 300 && app.received.length === 300, 'all 600 messages');
    expect(seen).toEqual(Array.from({ length: 300 }, (_, i) => String(i)));
    expect(app.received.map((m) => m.payload)).toEqual(Array.from({ length: 300 }, (_, i) => String(i)));
    // mqtt-packet's own number cache stays empty
    const numbers = createRequire(import.meta.url)('mqtt-packet/numbers.js') as { cache: Record<number, Buffer> };
    expect(Object.keys(numbers.cache)).toEqual([]);
  });

  it('delivery - a client publish reaches matching handlers, and publish() reaches MQTT subscribers with QoS and retain', async () => {
    const { bus, registry, url } = await startBus(cleanup);
    expect(bus.connected).toBe(true);
    expect(bus.state).toEqual({ mode: 'internal', running: true, internal: 'listening', external: 'disabled' });
    const seen: BusMessage[] = [];
    bus.subscribe('$hw/events/device/+/+/twin/update', (message) => void seen.push(message));
    const device = await mqttClient(cleanup, url);
    await device.client.publishAsync('$hw/events/device/default/thermo/twin/update', '{"twin":{}}', { qos: 1 });
    await device.client.publishAsync('$hw/events/device/default/thermo/state/update', '{}', { qos: 0 });
    await waitFor(() => seen.length === 1, 'the twin update at the handler');
    expect(seen[0]).toMatchObject({ topic: '$hw/events/device/default/thermo/twin/update', qos: 1, retain: false, source: 'internal' });
    expect(seen[0]?.payload.toString()).toBe('{"twin":{}}');

    await device.subscribe('$hw/events/device/+/+/twin/update/result', 1);
    await bus.publish('$hw/events/device/default/thermo/twin/update/result', '{"event_id":"1"}', { qos: 1 });
    await waitFor(() => device.received.length === 1, 'the result at the client');
    expect(device.received[0]).toMatchObject({ topic: '$hw/events/device/default/thermo/twin/update/result', payload: '{"event_id":"1"}', qos: 1 });

    await bus.publish('app/config', 'v1', { qos: 1, retain: true });
    const late = await mqttClient(cleanup, url);
    await late.subscribe('app/config');
    await waitFor(() => late.received.length === 1, 'the retained message for a late subscriber');
    expect(late.received[0]).toMatchObject({ payload: 'v1', retain: true });
    expect(await metricValue(registry, 'kedge_eventbus_messages_total', { direction: 'received' })).toBe(2);
    expect(await metricValue(registry, 'kedge_eventbus_messages_total', { direction: 'published' })).toBe(2);
    expect(await metricValue(registry, 'kedge_eventbus_connected', { broker: 'internal' })).toBe(1);
  });

  it('delivery - handlers never see what the bus itself published, and unsubscribe stops delivery', async () => {
    const { bus, url } = await startBus(cleanup);
    const seen: string[] = [];
    const unsubscribe = bus.subscribe('app/#', (message) => void seen.push(message.payload.toString()));
    await bus.publish('app/a', 'own');
    const app = await mqttClient(cleanup, url);
    await app.client.publishAsync('app/a', 'first', { qos: 1 });
    await waitFor(() => seen.length === 1, 'the client message');
    unsubscribe();
    await app.client.publishAsync('app/a', 'second', { qos: 1 });
    await app.subscribe('app/#');
    await app.client.publishAsync('app/a', 'marker', { qos: 1 });
    await waitFor(() => app.received.some((m) => m.payload === 'marker'), 'the marker to go round');
    expect(seen).toEqual(['first']);
  });

  it('acknowledgement - with acknowledgeAfterHandler the PUBACK of a QoS 1 publish waits for the handler; QoS 0 is handled after delivery, each once', async () => {
    const { bus, url } = await startBus(cleanup);
    const seen: string[] = [];
    let release: (() => void) | undefined;
    bus.subscribe(
      '$hw/events/device/+/+/twin/update',
      (message) => {
        seen.push(`${message.qos}:${message.payload.toString()}`);
        if (message.qos === 0) return undefined;
        return new Promise<void>((resolve) => (release = resolve));
      },
      { acknowledgeAfterHandler: true },
    );
    const watcher = await mqttClient(cleanup, url);
    await watcher.subscribe('$hw/events/device/+/+/twin/update', 1);
    const mapper = await mqttClient(cleanup, url);
    let acknowledged = false;
    const published = mapper.client.publishAsync('$hw/events/device/default/thermo/twin/update', 'held', { qos: 1 }).then(() => (acknowledged = true));
    await waitFor(() => release !== undefined, 'the handler to run before the PUBACK');
    // nothing acknowledged or delivered while the handler has not settled
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(acknowledged).toBe(false);
    expect(watcher.received).toEqual([]);
    release?.();
    await published;
    await waitFor(() => watcher.received.length === 1, 'delivery after the handler');
    await mapper.client.publishAsync('$hw/events/device/default/thermo/twin/update', 'fire-and-forget', { qos: 0 });
    await waitFor(() => seen.length === 2 && watcher.received.length === 2, 'the QoS 0 publish at the handler and the watcher');
    // each publish reached the handler exactly once
    expect(seen).toEqual(['1:held', '0:fire-and-forget']);
  });

  it('isolation - a throwing or rejecting handler is counted as a bad payload and the broker keeps serving', async () => {
    const { bus, registry, url } = await startBus(cleanup);
    const good: string[] = [];
    bus.subscribe('$hw/events/device/#', () => {
      throw new Error('boom');
    });
    bus.subscribe('$hw/events/node/#', () => Promise.reject(new Error('async boom')));
    bus.subscribe('$hw/events/#', (message) => void good.push(message.topic));
    const client = await mqttClient(cleanup, url);
    await client.client.publishAsync('$hw/events/device/ns/d/twin/get', 'x', { qos: 1 });
    await client.client.publishAsync('$hw/events/node/gw-1/membership/get', 'y', { qos: 1 });
    await waitFor(() => good.length === 2, 'the healthy handler to get both');
    await waitFor(async () => (await metricValue(registry, 'kedge_eventbus_bad_payloads_total', { topic_class: 'node' })) === 1, 'the async failure counted');
    expect(await metricValue(registry, 'kedge_eventbus_bad_payloads_total', { topic_class: 'device' })).toBe(1);
    expect(client.client.connected).toBe(true);
  });

  it('limits - a payload above maxPayloadBytes is refused (publisher disconnected), counted, and others are unaffected', async () => {
    const { bus, registry, url } = await startBus(cleanup, { maxPayloadBytes: 1024 });
    const seen: number[] = [];
    bus.subscribe('app/#', (message) => void seen.push(message.payload.length));
    const bad = await mqttClient(cleanup, url);
    const closed = new Promise<void>((resolve) => bad.client.once('close', () => resolve()));
    bad.client.publish('app/big', Buffer.alloc(4096), { qos: 0 });
    await closed;
    expect(await metricValue(registry, 'kedge_eventbus_bad_payloads_total', { topic_class: 'app' })).toBe(1);
    const good = await mqttClient(cleanup, url);
    await good.client.publishAsync('app/small', Buffer.alloc(1024), { qos: 1 });
    await waitFor(() => seen.length === 1, 'the small payload');
    expect(seen).toEqual([1024]);
    await expect(bus.publish('app/#', 'x')).rejects.toMatchObject({ code: 'INVALID_TOPIC' });
  });

  it('auth - with a username and password, a wrong password is refused and the right one accepted', async () => {
    const users = [{ username: 'mapper', password: 's3cret-mapper-password', publish: ['#'], subscribe: ['#'] }];
    const { url } = await startBus(cleanup, { internal: { users, anonymous: false } });
    await expect(connectAsync(url, { username: 'mapper', password: 'wrong', reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password|Not authorized/i);
    await expect(connectAsync(url, { reconnectPeriod: 0 })).rejects.toThrow();
    const ok = await mqttClient(cleanup, url, { username: 'mapper', password: 's3cret-mapper-password' });
    expect(ok.client.connected).toBe(true);
  });

  it('tls - with requireClientCert, a client without a certificate is refused and one with a CA-signed certificate works', async () => {
    const pki = await createTestPki();
    const { bus, url } = await startBus(cleanup, { internal: { tls: { ...pki.server, requireClientCert: true } } });
    const tlsUrl = url.replace('mqtt://', 'mqtts://');
    await expect(connectAsync(tlsUrl, { ca: pki.ca, reconnectPeriod: 0, connectTimeout: 3_000 })).rejects.toThrow();
    const material = await pki.node('gw-1');
    const seen: string[] = [];
    bus.subscribe('app/tls', (message) => void seen.push(message.payload.toString()));
    const client = await mqttClient(cleanup, tlsUrl, { ca: pki.ca, cert: material.cert, key: material.key });
    await client.client.publishAsync('app/tls', 'secure', { qos: 1 });
    await waitFor(() => seen.length === 1, 'the message over TLS');
    expect(seen).toEqual(['secure']);
  });

  it('lifecycle - publish before start and after stop is refused, and the port is released on stop', async () => {
    const registry = new Registry();
    const bus = new EventBus({ nodeName: 'gw-1', logger: silentLogger, registry, internal: { port: 0 } });
    await expect(bus.publish('a/b', 'x')).rejects.toMatchObject({ code: 'NOT_RUNNING' });
    await bus.start();
    const port = bus.internalAddress?.port;
    await bus.stop();
    await expect(bus.publish('a/b', 'x')).rejects.toBeInstanceOf(EventBusError);
    expect(bus.state.internal).toBe('stopped');
    const again = await startBus(cleanup, { internal: { port } });
    expect(again.bus.internalAddress?.port).toBe(port);
  });

  it('options - bad options are refused naming the option', () => {
    const base = { nodeName: 'gw-1', logger: silentLogger, registry: new Registry() };
    const attempts: [Record<string, unknown>, string][] = [
      [{ mode: 'cloud' }, 'mode'],
      [{ mode: 'external' }, 'external.url'],
      [{ internal: { port: 70_000 } }, 'internal.port'],
      [{ internal: { users: [{ username: 'u', password: 'short', publish: [], subscribe: [] }] } }, 'internal.users[0].password'],
      [{ internal: { users: [{ username: 'u', password: 'long-enough-password', publish: ['a/#/b'], subscribe: [] }] } }, 'internal.users[0].publish[0]'],
      [{ internal: { host: '0.0.0.0' } }, 'internal.users'],
      [{ mode: 'external', external: { url: 'mqtt://user:pass@broker:1883' } }, 'external.url'],
      [{ uploadTopics: ['a/#/b'] }, 'uploadTopics[0]'],
      [{ bridgeTopics: ['x+'] }, 'bridgeTopics[0]'],
    ];
    for (const [options, field] of attempts) {
      expect(() => new EventBus({ ...base, ...options })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', field }));
    }
  });
});

describe('EventBus cloud messages', () => {
  it('upload - configured application topics go to send as group user / upload / topic, binary as base64; $hw and others do not', async () => {
    const sent: { resource: string; operation: string; group: string; content: unknown }[] = [];
    const { bus, registry, url } = await startBus(cleanup, {
      uploadTopics: ['SYS/dis/upload_records', '+/user/#'],
      send: (message) => void sent.push({ ...message.route, content: message.content }),
    });
    bus.subscribe('$hw/events/#', () => undefined);
    const app = await mqttClient(cleanup, url);
    await app.client.publishAsync('factory/user/line1', '{"count":3}', { qos: 1 });
    await app.client.publishAsync('SYS/dis/upload_records', Buffer.from([0xff, 0x00, 0xfe]), { qos: 1 });
    await app.client.publishAsync('factory/other', 'not uploaded', { qos: 1 });
    await app.client.publishAsync('$hw/events/device/a/b/twin/update', '{}', { qos: 1 });
    await waitFor(() => sent.length === 2, 'two uploads');
    expect(sent[0]).toEqual({ source: 'eventbus', group: 'user', operation: 'upload', resource: 'factory/user/line1', content: '{"count":3}' });
    expect(sent[1]?.content).toEqual({ encoding: 'base64', data: Buffer.from([0xff, 0x00, 0xfe]).toString('base64') });
    expect(await metricValue(registry, 'kedge_eventbus_messages_total', { direction: 'uploaded' })).toBe(2);
  });

  it('upload - a send that rejects (cloud unreachable) is counted and the bus keeps working', async () => {
    const { bus, registry, url } = await startBus(cleanup, { send: () => Promise.reject(new Error('offline')) });
    const seen: string[] = [];
    bus.subscribe('a/user/#', (message) => void seen.push(message.topic));
    const app = await mqttClient(cleanup, url);
    await app.client.publishAsync('a/user/x', 'one', { qos: 1 });
    await waitFor(async () => (await metricValue(registry, 'kedge_eventbus_messages_total', { direction: 'upload_failed' })) === 1, 'the failed upload counted');
    expect(seen).toEqual(['a/user/x']);
  });

  it('router - cloud publish goes on the bus, subscribe/unsubscribe change the uploaded topics, bad ones are counted', async () => {
    const router = new MessageRouter({ onHandlerError: (error) => console.error(error) });
    cleanup.add(() => router.close());
    const sent: string[] = [];
    const { bus, registry, url } = await startBus(cleanup, { router, uploadTopics: [], send: (message) => void sent.push(message.route.resource) });
    const app = await mqttClient(cleanup, url);
    await app.subscribe('app/cmd');
    const cloud = (operation: string, resource: string, content: unknown = '') =>
      router.dispatch(newMessage({ source: 'router', group: 'user', operation, resource, content }));
    await cloud('publish', 'app/cmd', { on: true });
    await waitFor(() => app.received.length === 1, 'the cloud publish at the client');
    expect(JSON.parse(app.received[0]?.payload ?? '')).toEqual({ on: true });
    // the bus remembers a topic's route (handlers, upload): it is seen once before the filter exists
    await app.client.publishAsync('app/telemetry/t1', '20', { qos: 1 });
    await waitFor(async () => (await metricValue(registry, 'kedge_eventbus_messages_total', { direction: 'received' })) === 1, 'the first telemetry message through the bus');
    await cloud('subscribe', 'app/telemetry/#');
    expect(bus.uploadTopics).toEqual(['app/telemetry/#']);
    await app.client.publishAsync('app/telemetry/t1', '21', { qos: 1 });
    await waitFor(() => sent.length === 1, 'the upload of the newly subscribed topic');
    const late: string[] = [];
    bus.subscribe('app/telemetry/+', (message) => void late.push(message.payload.toString()));
    await cloud('unsubscribe', 'app/telemetry/#');
    await app.client.publishAsync('app/telemetry/t1', '22', { qos: 1 });
    await waitFor(() => late.length === 1, 'the message at a handler added after the route was remembered');
    expect(late).toEqual(['22']);
    expect(sent).toHaveLength(1);
    await cloud('publish', 'bad/#/topic', 'x');
    await cloud('subscribe', '$hw/events/#');
    expect(bus.uploadTopics).toEqual([]);
    expect(await metricValue(registry, 'kedge_eventbus_bad_payloads_total', { topic_class: 'app' })).toBe(1);
    expect(await metricValue(registry, 'kedge_eventbus_bad_payloads_total', { topic_class: 'hw_other' })).toBe(1);
  });
});

// EventBus against a REAL mosquitto (Debian package) started with its own config on a free loopback
// port: external mode (handlers, publish, no echo, reconnect) and both mode (the bridge of
// `$hw/events/#` and configured topics, in both directions, without loops).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BusMessage } from '../src/index';
import { Cleanup, freePort, metricValue, mqttClient, startBus, startMosquitto, waitFor, type Mosquitto } from './fixtures';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
const suite = new Cleanup();
let mosquitto: Mosquitto;
beforeAll(async () => {
  mosquitto = await startMosquitto(suite);
});
afterAll(() => suite.run());

describe('EventBus external mode', () => {
  it('external - handlers get what mosquitto clients publish, publish() reaches them, and the bus never hears its own publishes', async () => {
    const { bus, registry } = await startBus(cleanup, { mode: 'external', external: { url: mosquitto.url } });
    const seen: BusMessage[] = [];
    bus.subscribe('$hw/events/device/+/+/twin/+', (message) => void seen.push(message));
    await waitFor(() => bus.connected, 'the external connection');
    expect(bus.state).toMatchObject({ internal: 'disabled', external: 'connected' });
    expect(await metricValue(registry, 'kedge_eventbus_connected', { broker: 'external' })).toBe(1);
    const mapper = await mqttClient(cleanup, mosquitto.url);
    await mapper.subscribe('$hw/events/device/#');
    // the subscription is made asynchronously after connect: publish until one arrives
    await waitFor(async () => {
      await mapper.client.publishAsync('$hw/events/device/default/fan/twin/update', '{"n":1}', { qos: 1 });
      return seen.length > 0;
    }, 'a mapper publish at the handler');
    expect(seen[0]).toMatchObject({ topic: '$hw/events/device/default/fan/twin/update', source: 'external' });
    const before = seen.length;
    await bus.publish('$hw/events/device/default/fan/twin/get', '{"own":true}', { qos: 1 });
    await waitFor(() => mapper.received.some((m) => m.payload === '{"own":true}'), 'our publish at the mapper');
    await mapper.client.publishAsync('$hw/events/device/default/fan/twin/update', 'marker', { qos: 1 });
    await waitFor(() => seen.some((m) => m.payload.toString() === 'marker'), 'the marker');
    expect(seen.slice(before).map((m) => m.payload.toString())).toEqual(['marker']);
  });

  it('external - a broker that is down at start is retried: publish is refused until it is up, then everything works', async () => {
    const port = await freePort();
    const { bus } = await startBus(cleanup, { mode: 'external', external: { url: `mqtt://127.0.0.1:${port}`, reconnectPeriodMs: 200 } });
    const seen: string[] = [];
    bus.subscribe('app/+/status', (message) => void seen.push(message.payload.toString()));
    expect(bus.connected).toBe(false);
    await expect(bus.publish('app/x/status', 'lost')).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    const late = await startMosquitto(cleanup, port);
    await waitFor(() => bus.connected, 'the connection once mosquitto is up');
    const app = await mqttClient(cleanup, late.url);
    await waitFor(async () => {
      await app.client.publishAsync('app/x/status', 'up', { qos: 1 });
      return seen.length > 0;
    }, 'the resubscribed handler');
    await late.stop();
    await waitFor(() => !bus.connected, 'the bus to notice mosquitto stopped');
  });
});

describe('EventBus both mode', () => {
  it('bridge - $hw/events/# and configured topics flow both ways exactly once; other topics stay local', async () => {
    const { bus, registry, url } = await startBus(cleanup, { mode: 'both', bridgeTopics: ['plant/+/alarm'], external: { url: mosquitto.url } });
    await waitFor(() => bus.state.external === 'connected', 'the bridge connection');
    expect(bus.connected).toBe(true);
    const handled: string[] = [];
    bus.subscribe('$hw/events/#', (message) => void handled.push(`${message.source}:${message.payload.toString()}`));
    const local = await mqttClient(cleanup, url);
    const remote = await mqttClient(cleanup, mosquitto.url);
    // `#` does not match `$...` topics (MQTT 4.7.2): subscribe to both
    for (const client of [local, remote]) {
      await client.subscribe('#');
      await client.subscribe('$hw/events/#');
    }

    await waitFor(async () => {
      await local.client.publishAsync('$hw/events/device/ns/d/twin/update', 'from-local', { qos: 1 });
      return remote.received.some((m) => m.payload === 'from-local');
    }, 'a local device event bridged out');
    await remote.client.publishAsync('$hw/events/device/ns/d/twin/update', 'from-remote', { qos: 1 });
    await waitFor(() => local.received.some((m) => m.payload === 'from-remote'), 'a remote device event bridged in');
    await remote.client.publishAsync('plant/1/alarm', 'hot', { qos: 1 });
    await waitFor(() => local.received.some((m) => m.payload === 'hot'), 'a configured topic bridged in');
    await local.client.publishAsync('plant/local-only', 'stay', { qos: 1 });
    await remote.client.publishAsync('remote/only', 'stay-remote', { qos: 1 });
    await bus.publish('$hw/events/node/gw-1/membership/updated', 'from-bus', { qos: 1 });
    await waitFor(() => remote.received.some((m) => m.payload === 'from-bus') && local.received.some((m) => m.payload === 'from-bus'), 'bus publish on both brokers');
    // a final marker each way: everything before it has been delivered
    await local.client.publishAsync('$hw/events/marker', 'm1', { qos: 1 });
    await remote.client.publishAsync('$hw/events/marker', 'm2', { qos: 1 });
    await waitFor(() => remote.received.some((m) => m.payload === 'm1') && local.received.some((m) => m.payload === 'm2'), 'the markers');

    const count = (list: { payload: string }[], payload: string) => list.filter((m) => m.payload === payload).length;
    expect(count(remote.received, 'from-remote')).toBe(1);
    expect(count(local.received, 'from-remote')).toBe(1);
    expect(count(local.received, 'hot')).toBe(1);
    expect(count(remote.received, 'stay')).toBe(0);
    expect(count(local.received, 'stay-remote')).toBe(0);
    expect(count(remote.received, 'from-bus')).toBe(1);
    expect(handled.filter((h) => h.endsWith(':from-remote'))).toEqual(['external:from-remote']);
    expect(handled.filter((h) => h.endsWith(':from-bus'))).toEqual([]);
    expect(await metricValue(registry, 'kedge_eventbus_messages_total', { direction: 'bridged_in' })).toBeGreaterThanOrEqual(3);
  });
});

// hasSubscribers: whether a publish on a topic can reach a client of the embedded broker, kept from
// aedes's hooks and events (real aedes, real mqtt.js clients): subscribe, unsubscribe, disconnect,
// persistent sessions (which aedes queues for while offline) and a clean reconnect that ends one.
import { afterEach, describe, expect, it } from 'vitest';
import { Cleanup, mqttClient, startBus, waitFor } from './fixtures';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const DOCUMENT = '$hw/events/device/default/thermo/twin/update/document';

describe('EventBus hasSubscribers', () => {
  it('subscribers - no client, a matching filter, an unsubscribe and a disconnect; `#` never covers a `$` topic', async () => {
    const { bus, url } = await startBus(cleanup);
    expect(bus.hasSubscribers(DOCUMENT)).toBe(false);
    const app = await mqttClient(cleanup, url);
    await app.subscribe('#');
    // MQTT's rule: a filter starting with a wildcard does not match a `$` topic, and aedes delivers none
    expect(bus.hasSubscribers(DOCUMENT)).toBe(false);
    expect(bus.hasSubscribers('app/x')).toBe(true);
    await app.subscribe('$hw/events/device/+/+/twin/update/document');
    expect(bus.hasSubscribers(DOCUMENT)).toBe(true);
    expect(bus.hasSubscribers('$hw/events/device/default/thermo/twin/update/delta')).toBe(false);
    await bus.publish(DOCUMENT, 'd1', { qos: 1 });
    await waitFor(() => app.received.some((m) => m.payload === 'd1'), 'the document at the subscriber');

    await app.client.unsubscribeAsync('$hw/events/device/+/+/twin/update/document');
    expect(bus.hasSubscribers(DOCUMENT)).toBe(false);
    expect(bus.hasSubscribers('app/x')).toBe(true);
    await app.client.endAsync();
    await waitFor(() => !bus.hasSubscribers('app/x'), 'the clean session gone with its connection');
  });

  it('subscribers - a persistent session counts while offline (aedes queues for it); a clean reconnect with its id ends it', async () => {
    const { bus, url } = await startBus(cleanup);
    const persistent = await mqttClient(cleanup, url, { clientId: 'mapper-p', clean: false });
    await persistent.subscribe('$hw/events/device/+/+/twin/update/document', 1);
    await persistent.client.endAsync();
    await waitFor(() => bus.state.running && !persistent.client.connected, 'the persistent client offline');
    expect(bus.hasSubscribers(DOCUMENT)).toBe(true);
    await bus.publish(DOCUMENT, 'while-offline', { qos: 1 });
    const back = await mqttClient(cleanup, url, { clientId: 'mapper-p', clean: false });
    await waitFor(() => back.received.some((m) => m.payload === 'while-offline'), 'the queued document after the reconnect');
    await back.client.endAsync();

    const clean = await mqttClient(cleanup, url, { clientId: 'mapper-p', clean: true });
    await waitFor(() => !bus.hasSubscribers(DOCUMENT), 'the persistent session discarded by a clean connect');
    expect(clean.client.connected).toBe(true);
  });

  it('subscribers - with an external broker in the path the answer is always yes (its subscribers are not known here)', async () => {
    const { bus } = await startBus(cleanup, { mode: 'external', external: { url: 'mqtt://127.0.0.1:1', reconnectPeriodMs: 60_000 } });
    expect(bus.hasSubscribers(DOCUMENT)).toBe(true);
  });
});

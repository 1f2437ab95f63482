// EdgeHub against a bare hub listener on loopback: dialing, heartbeats, offline sends, reconnecting
// after the cloud comes back on the same port, and the handling of what the cloud sends down.
import { Group, Operation, newMessage, newResponse, type Message } from '@kedge/protocol';
import { requires } from '@kedge/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloudUnreachableError } from '../src/index';
import { Cleanup, FakeCloud, createEdge, createTestPki, metricValue, waitFor, type TestPki } from './fixtures';

let pki: TestPki;
const cleanup = new Cleanup();

beforeAll(async () => {
  pki = await createTestPki();
});
afterEach(() => cleanup.run());

async function startCloud(kind: 'websocket' | 'quic' = 'websocket'): Promise<FakeCloud> {
  const cloud = new FakeCloud(pki, kind);
  await cloud.start();
  cleanup.add(() => cloud.stop());
  return cloud;
}

function cloudMessage(options: { group: string; operation: string; resource: string; content?: unknown }): Message {
  return newMessage({ source: 'fake-cloud', content: null, ...options });
}

function keepalives(messages: Message[]): Message[] {
  return messages.filter((m) => m.route.operation === Operation.Keepalive);
}

describe('edgehub over websocket', () => {
  it('link - connects through its dial function and reports the link up', async () => {
    const cloud = await startCloud();
    const { hub, registry, dials } = await createEdge(pki, cloud, cleanup, 'gw-1');
    const changes: boolean[] = [];
    hub.onConnectionChange((connected) => changes.push(connected));
    expect(hub.connected).toBe(false);
    hub.start();
    await waitFor(() => hub.connected, 'the link to come up');
    expect(changes).toEqual([true]);
    expect(dials()).toBe(1);
    await waitFor(() => cloud.links.length === 1, 'the link at the cloud');
    expect(cloud.latest?.connection.peer.nodeName).toBe('gw-1');
    expect(await metricValue(registry, 'kedge_edgehub_connected')).toBe(1);
    expect(await metricValue(registry, 'kedge_edgehub_connects_total')).toBe(1);
  });

  it('heartbeat - sends a keepalive at once and then every heartbeatMs', async () => {
    const cloud = await startCloud();
    const { hub, registry } = await createEdge(pki, cloud, cleanup, 'gw-1', { heartbeatMs: 50 });
    hub.start();
    await waitFor(() => keepalives(cloud.latest?.messages ?? []).length >= 3, 'three keepalives at the cloud');
    const [first] = keepalives(cloud.latest?.messages ?? []);
    expect(first?.route).toEqual({ source: 'edgehub', group: Group.Resource, operation: Operation.Keepalive, resource: 'null/node/gw-1' });
    expect(first?.content).toBe('ping');
    expect(await metricValue(registry, 'kedge_edgehub_messages_total', { direction: 'up', operation: 'keepalive' })).toBeGreaterThanOrEqual(3);
  });

  it('heartbeat - a long heartbeat sends only the first keepalive', async () => {
    const cloud = await startCloud();
    const { hub } = await createEdge(pki, cloud, cleanup, 'gw-1', { heartbeatMs: 600_000 });
    hub.start();
    await waitFor(() => keepalives(cloud.latest?.messages ?? []).length === 1, 'the first keepalive');
    // a message sent after it arrives after it: had a second keepalive been sent meanwhile, we would see it
    await hub.send(cloudMessage({ group: Group.Resource, operation: Operation.Update, resource: 'default/podstatus/web' }));
    await waitFor(() => (cloud.latest?.messages.length ?? 0) === 2, 'the update');
    expect(keepalives(cloud.latest?.messages ?? [])).toHaveLength(1);
  });

  it('send - a message reaches the cloud in edge form; while disconnected send rejects with CloudUnreachableError', async () => {
    const cloud = await startCloud();
    const { hub, registry } = await createEdge(pki, cloud, cleanup, 'gw-1');
    const update = cloudMessage({ group: Group.Resource, operation: Operation.Update, resource: 'default/podstatus/web' });
    const offline = await hub.send(update).catch((e: unknown) => e);
    expect(offline).toBeInstanceOf(CloudUnreachableError);
    expect((offline as CloudUnreachableError).resource).toBe('default/podstatus/web');

    hub.start();
    await waitFor(() => hub.connected, 'the link');
    await hub.send(update);
    await waitFor(() => cloud.latest?.messages.some((m) => m.header.msg_id === update.header.msg_id) === true, 'the update at the cloud');
    expect(cloud.latest?.messages.find((m) => m.header.msg_id === update.header.msg_id)?.route.resource).toBe('default/podstatus/web');
    expect(await metricValue(registry, 'kedge_edgehub_messages_total', { direction: 'up', operation: 'update' })).toBe(1);

    await cloud.stop();
    await waitFor(() => !hub.connected, 'the link to drop');
    await expect(hub.send(update)).rejects.toBeInstanceOf(CloudUnreachableError);
  });

  it('link - reconnects by itself after the cloud listener is restarted on the same port', async () => {
    const cloud = await startCloud();
    const { hub, registry, dials } = await createEdge(pki, cloud, cleanup, 'gw-1', { heartbeatMs: 50 });
    const changes: boolean[] = [];
    hub.onConnectionChange((connected) => changes.push(connected));
    hub.start();
    await waitFor(() => hub.connected, 'the first link');
    const port = cloud.port;

    await cloud.stop();
    await waitFor(() => changes.length === 2, 'the link-down notification');
    expect(changes).toEqual([true, false]);
    expect(await metricValue(registry, 'kedge_edgehub_connected')).toBe(0);
    // with the cloud gone the edge keeps dialing and failing
    await waitFor(async () => (await metricValue(registry, 'kedge_edgehub_dial_failures_total')) >= 1, 'a failed dial');

    await cloud.start();
    expect(cloud.port).toBe(port);
    await waitFor(() => hub.connected, 'the link after the restart');
    expect(changes).toEqual([true, false, true]);
    expect(dials()).toBeGreaterThanOrEqual(3);
    expect(await metricValue(registry, 'kedge_edgehub_connects_total')).toBe(2);
    // heartbeats run again on the new link
    await waitFor(() => keepalives(cloud.latest?.messages ?? []).length >= 1, 'a keepalive on the new link');
  });

  it('routing - a cloud hub/ping is answered with pong', async () => {
    const cloud = await startCloud();
    const { hub } = await createEdge(pki, cloud, cleanup, 'gw-1');
    hub.start();
    await waitFor(() => cloud.links.length === 1, 'the link');
    const ping = cloudMessage({ group: Group.Hub, operation: 'ping', resource: 'null/node/gw-1' });
    await cloud.latest?.connection.send(ping);
    await waitFor(() => cloud.latest?.messages.some((m) => m.header.parent_msg_id === ping.header.msg_id) === true, 'the pong');
    const pong = cloud.latest?.messages.find((m) => m.header.parent_msg_id === ping.header.msg_id);
    expect(pong).toMatchObject({ route: { group: Group.Hub, operation: Operation.Response, source: 'edgehub' }, content: 'pong' });
  });

  it('routing - messages for a registered group reach its handler; others get an error, answers to nobody get nothing', async () => {
    const cloud = await startCloud();
    const { hub, router, registry } = await createEdge(pki, cloud, cleanup, 'gw-1');
    const received: Message[] = [];
    router.register(Group.Meta, (message) => {
      received.push(message);
    });
    hub.start();
    await waitFor(() => cloud.links.length === 1, 'the link');
    const link = cloud.latest!;
    const forMeta = cloudMessage({ group: Group.Meta, operation: Operation.Insert, resource: 'default/pod/web', content: { spec: {} } });
    const strayResponse = cloudMessage({ group: Group.Twin, operation: Operation.Response, resource: 'default/twin/sensor' });
    const forTwin = cloudMessage({ group: Group.Twin, operation: Operation.Update, resource: 'default/twin/sensor' });
    await link.connection.send(forMeta);
    await link.connection.send(strayResponse);
    await link.connection.send(forTwin);
    await waitFor(() => link.messages.some((m) => m.route.operation === Operation.Error), 'the error reply');
    expect(received).toHaveLength(1);
    expect(received[0]?.header.msg_id).toBe(forMeta.header.msg_id);
    expect(received[0]?.content).toEqual({ spec: {} });
    const answers = link.messages.filter((m) => m.route.operation !== Operation.Keepalive);
    // the stray response came before the twin update on the same link: no answer to it came back first
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ header: { parent_msg_id: forTwin.header.msg_id }, route: { operation: Operation.Error, group: Group.Twin } });
    expect(String(answers[0]?.content)).toMatch(/no handler for group "twin"/);
    expect(await metricValue(registry, 'kedge_edgehub_refused_messages_total', { reason: 'no-route' })).toBe(2);
  });

  it('ping - a round trip to the cloud resolves with a latency', async () => {
    const cloud = await startCloud();
    cloud.onMessage = (link, message) => {
      if (message.route.group === Group.Hub && message.route.operation === 'ping') void link.connection.send(newResponse(message, 'pong', 'cloudhub'));
    };
    const { hub } = await createEdge(pki, cloud, cleanup, 'gw-1');
    hub.start();
    await waitFor(() => hub.connected, 'the link');
    const latency = await hub.ping(10_000);
    expect(typeof latency).toBe('number');
    expect(latency).toBeGreaterThanOrEqual(0);
    const ping = cloud.latest?.messages.find((m) => m.route.operation === 'ping');
    expect(ping).toMatchObject({ route: { group: Group.Hub, resource: 'null/node/gw-1' }, header: { sync: true } });
  });

  it('link - reconnect() drops the link and dials afresh', async () => {
    const cloud = await startCloud();
    const { hub, dials } = await createEdge(pki, cloud, cleanup, 'gw-1');
    const changes: boolean[] = [];
    hub.onConnectionChange((connected) => changes.push(connected));
    hub.start();
    await waitFor(() => hub.connected && cloud.links.length === 1, 'the first link');
    await hub.reconnect();
    await waitFor(() => cloud.links.length === 2 && hub.connected, 'a second link');
    expect(dials()).toBe(2);
    await waitFor(() => cloud.links[0]?.closes.length === 1, 'the first link closed at the cloud');
    expect(cloud.links[0]?.closes[0]?.reason).toMatch(/reconnecting on request/);
    expect(cloud.links[1]?.connection.closed).toBe(false);
    expect(changes).toEqual([true, false, true]);
  });

  it('link - stop() closes the link and reports it down', async () => {
    const cloud = await startCloud();
    const { hub, registry } = await createEdge(pki, cloud, cleanup, 'gw-1');
    const changes: boolean[] = [];
    hub.onConnectionChange((connected) => changes.push(connected));
    hub.start();
    await waitFor(() => hub.connected && cloud.links.length === 1, 'the link');
    await hub.stop();
    expect(hub.connected).toBe(false);
    expect(changes).toEqual([true, false]);
    expect(await metricValue(registry, 'kedge_edgehub_connected')).toBe(0);
    await waitFor(() => cloud.links[0]?.closes.length === 1, 'the link closed at the cloud');
  });
});

const quic = await requires('quic');

quic.describe('edgehub over quic', () => {
  it('quic - connects, sends heartbeats and answers a ping over QUIC', async () => {
    const cloud = await startCloud('quic');
    const { hub } = await createEdge(pki, cloud, cleanup, 'gw-q', { heartbeatMs: 50 });
    hub.start();
    await waitFor(() => hub.connected, 'the quic link');
    await waitFor(() => keepalives(cloud.latest?.messages ?? []).length >= 2, 'two keepalives');
    expect(cloud.latest?.connection.kind).toBe('quic');
    const ping = cloudMessage({ group: Group.Hub, operation: 'ping', resource: 'null/node/gw-q' });
    await cloud.latest?.connection.send(ping);
    await waitFor(() => cloud.latest?.messages.some((m) => m.header.parent_msg_id === ping.header.msg_id) === true, 'the pong');
  });
});

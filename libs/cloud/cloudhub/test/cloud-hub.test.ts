// CloudHub against real WebSocket (and QUIC) listeners on loopback, with edges dialed through the
// real transports: sessions, resource prefixing, refusals, ping, replacement, keepalive, limits.
import { Group, Operation, newErrorResponse, newResponse, type Message } from '@kedge/protocol';
import { RemoteError } from '@kedge/router';
import { requires } from '@kedge/testkit';
import { DialError, dialHub } from '@kedge/transport';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NodeNotConnectedError, type NodeConnectionEvent } from '../src/index';
import { Cleanup, createTestPki, edgeMessage, metricValue, startHub, waitFor, type EdgeEnd, type TestPki } from './fixtures';

let pki: TestPki;
const cleanup = new Cleanup();

beforeAll(async () => {
  pki = await createTestPki();
});
afterEach(() => cleanup.run());

/** Answers the hub's `hub/ping` on this edge end, as EdgeHub does. */
function answerPings(end: EdgeEnd): void {
  end.connection.on('message', (message) => {
    if (message.route.group === Group.Hub && message.route.operation === 'ping') {
      void end.connection.send(newResponse(message, 'pong', 'edgehub'));
    }
  });
}

function repliesTo(end: EdgeEnd, request: Message): Message[] {
  return end.messages.filter((m) => m.header.parent_msg_id === request.header.msg_id);
}

describe('cloudhub over websocket', () => {
  it('sessions - a connected node appears in listSessions and in the connected gauge', async () => {
    const { hub, registry, dial } = await startHub(pki, cleanup);
    expect(await metricValue(registry, 'kedge_cloudhub_connected_nodes')).toBe(0);
    await dial('node-a');
    await waitFor(() => hub.isConnected('node-a'), 'node-a session');
    const [session, ...others] = hub.listSessions();
    expect(others).toEqual([]);
    expect(session).toMatchObject({ nodeName: 'node-a', transport: 'websocket', messagesIn: 0, messagesOut: 0 });
    expect(session?.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(Number.isNaN(Date.parse(session?.connectedAt ?? ''))).toBe(false);
    expect(await metricValue(registry, 'kedge_cloudhub_connected_nodes')).toBe(1);
    expect(hub.isConnected('node-b')).toBe(false);
  });

  it('upstream - the resource is prefixed with the authenticated node and reaches the group handler', async () => {
    const { hub, router, registry, dial } = await startHub(pki, cleanup);
    const received: Message[] = [];
    router.register(Group.Resource, (message) => {
      received.push(message);
    });
    const edge = await dial('node-a');
    const sent = edgeMessage({ resource: 'default/pod/nginx', content: { phase: 'Running' } });
    await edge.connection.send(sent);
    await waitFor(() => received.length === 1, 'the message at the resource handler');
    expect(received[0]?.route.resource).toBe('node/node-a/default/pod/nginx');
    expect(received[0]?.header.msg_id).toBe(sent.header.msg_id);
    expect(received[0]?.content).toEqual({ phase: 'Running' });
    expect(hub.listSessions()[0]?.messagesIn).toBe(1);
    expect(await metricValue(registry, 'kedge_cloudhub_messages_total', { direction: 'up', operation: 'update' })).toBe(1);
    expect(edge.messages).toEqual([]);
  });

  it('upstream - a resource naming another node or not in edge form gets an error reply and is counted', async () => {
    const { router, registry, dial } = await startHub(pki, cleanup);
    const received: Message[] = [];
    router.register(Group.Resource, (message) => {
      received.push(message);
    });
    const edge = await dial('node-a');
    const spoofed = edgeMessage({ resource: 'node/node-b/default/pod/nginx' });
    const invalid = edgeMessage({ resource: 'Default/Pod/nginx' });
    await edge.connection.send(spoofed);
    await edge.connection.send(invalid);
    await waitFor(() => edge.messages.length === 2, 'two error replies');
    for (const request of [spoofed, invalid]) {
      const [reply] = repliesTo(edge, request);
      expect(reply?.route.operation).toBe(Operation.Error);
      expect(reply?.route.resource).toBe(request.route.resource);
      expect(String(reply?.content)).toMatch(/^resource refused: /);
    }
    expect(received).toEqual([]);
    expect(await metricValue(registry, 'kedge_cloudhub_refused_messages_total', { reason: 'invalid-resource' })).toBe(2);
  });

  it('upstream - a group without handler gets a no-route error, but a response without handler gets no reply', async () => {
    const { registry, dial } = await startHub(pki, cleanup);
    const edge = await dial('node-a');
    const stray = edgeMessage({ group: 'twin', operation: Operation.Response, resource: 'default/twin/sensor' });
    const strayError = edgeMessage({ group: 'twin', operation: Operation.Error, resource: 'default/twin/sensor' });
    const request = edgeMessage({ group: 'twin', operation: Operation.Update, resource: 'default/twin/sensor' });
    // one link keeps order: had the stray answers been answered, those replies would arrive first
    await edge.connection.send(stray);
    await edge.connection.send(strayError);
    await edge.connection.send(request);
    await waitFor(() => edge.messages.length >= 1, 'the no-route reply');
    expect(edge.messages).toHaveLength(1);
    const [reply] = edge.messages;
    expect(reply?.header.parent_msg_id).toBe(request.header.msg_id);
    expect(reply?.route.operation).toBe(Operation.Error);
    expect(String(reply?.content)).toMatch(/no handler for group "twin"/);
    expect(await metricValue(registry, 'kedge_cloudhub_refused_messages_total', { reason: 'no-route' })).toBe(3);
  });

  it('upstream - an edge hub/ping is answered with pong and keepalives go nowhere', async () => {
    const { hub, registry, dial } = await startHub(pki, cleanup);
    const edge = await dial('node-a');
    const keepalive = edgeMessage({ operation: Operation.Keepalive, resource: 'null/node/node-a', content: 'ping' });
    const ping = edgeMessage({ group: Group.Hub, operation: 'ping', resource: 'null/node/node-a' });
    await edge.connection.send(keepalive);
    await edge.connection.send(ping);
    await waitFor(() => edge.messages.length >= 1, 'the pong');
    expect(edge.messages).toHaveLength(1);
    expect(edge.messages[0]).toMatchObject({
      header: { parent_msg_id: ping.header.msg_id },
      route: { group: Group.Hub, operation: Operation.Response, source: 'cloudhub' },
      content: 'pong',
    });
    expect(hub.listSessions()[0]?.messagesIn).toBe(2);
    expect(await metricValue(registry, 'kedge_cloudhub_messages_total', { direction: 'up', operation: 'keepalive' })).toBe(1);
    expect(await metricValue(registry, 'kedge_cloudhub_refused_messages_total', { reason: 'no-route' })).toBe(0);
  });

  it('downstream - sendToNode strips the node prefix; an unknown node gets NodeNotConnectedError', async () => {
    const { hub, registry, dial } = await startHub(pki, cleanup);
    const edge = await dial('node-a');
    await waitFor(() => hub.isConnected('node-a'), 'node-a session');
    const down = edgeMessage({ operation: Operation.Insert, resource: 'node/node-a/default/configmap/settings', content: { a: '1' } });
    await hub.sendToNode(down);
    await waitFor(() => edge.messages.length === 1, 'the message at the edge');
    expect(edge.messages[0]?.route.resource).toBe('default/configmap/settings');
    expect(edge.messages[0]?.header.msg_id).toBe(down.header.msg_id);
    expect(edge.messages[0]?.content).toEqual({ a: '1' });
    expect(hub.listSessions()[0]?.messagesOut).toBe(1);
    expect(await metricValue(registry, 'kedge_cloudhub_messages_total', { direction: 'down', operation: 'insert' })).toBe(1);

    const error = await hub.sendToNode(edgeMessage({ resource: 'node/node-zz/default/pod/x' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NodeNotConnectedError);
    expect((error as NodeNotConnectedError).nodeName).toBe('node-zz');
  });

  it('ping - a round trip through the edge resolves with the latency in ms; an error reply rejects', async () => {
    const { hub, dial } = await startHub(pki, cleanup);
    const edge = await dial('node-a');
    await waitFor(() => hub.isConnected('node-a'), 'node-a session');
    answerPings(edge);
    const latency = await hub.ping('node-a', 10_000);
    expect(typeof latency).toBe('number');
    expect(latency).toBeGreaterThanOrEqual(0);
    const ping = edge.messages.find((m) => m.route.operation === 'ping');
    expect(ping).toMatchObject({ route: { group: Group.Hub, resource: 'null/node/node-a' }, header: { sync: true } });

    await expect(hub.ping('node-zz')).rejects.toBeInstanceOf(NodeNotConnectedError);

    const refusing = await dial('node-b');
    await waitFor(() => hub.isConnected('node-b'), 'node-b session');
    refusing.connection.on('message', (message) => {
      void refusing.connection.send(newErrorResponse(message, 'no pings here', 'edgehub'));
    });
    await expect(hub.ping('node-b', 10_000)).rejects.toBeInstanceOf(RemoteError);
  });

  it('sessions - a second connection for the same node replaces the first and the old close leaves it alone', async () => {
    const { hub, registry, dial } = await startHub(pki, cleanup);
    const events: NodeConnectionEvent[] = [];
    hub.onNodeConnection((event) => events.push(event));
    const first = await dial('node-a');
    await waitFor(() => hub.isConnected('node-a'), 'first session');
    const second = await dial('node-a');
    await waitFor(() => first.closes.length === 1, 'the first connection closed by the hub');
    expect(first.closes[0]?.reason).toMatch(/replaced by a newer connection/);
    expect(second.connection.closed).toBe(false);
    expect(hub.isConnected('node-a')).toBe(true);
    expect(hub.listSessions()).toHaveLength(1);
    expect(await metricValue(registry, 'kedge_cloudhub_sessions_replaced_total')).toBe(1);
    expect(await metricValue(registry, 'kedge_cloudhub_connected_nodes')).toBe(1);
    // the session that remains is the new link: messages go to it
    await hub.sendToNode(edgeMessage({ resource: 'node/node-a/default/pod/p1' }));
    await waitFor(() => second.messages.length === 1, 'the message on the new link');
    expect(first.messages).toEqual([]);
    expect(events).toEqual([{ type: 'connected', nodeName: 'node-a', transport: 'websocket' }]);
  });

  it('keepalive - a silent session is dropped after keepaliveTimeoutMs', async () => {
    const { hub, registry, dial } = await startHub(pki, cleanup, { keepaliveTimeoutMs: 300 });
    const events: NodeConnectionEvent[] = [];
    hub.onNodeConnection((event) => events.push(event));
    const edge = await dial('node-a');
    await waitFor(() => hub.isConnected('node-a'), 'node-a session');
    await waitFor(() => !hub.isConnected('node-a'), 'the silent session to be dropped');
    await waitFor(() => edge.closes.length === 1, 'the edge to see its link closed');
    expect(edge.closes[0]?.reason).toMatch(/keepalive timeout/);
    expect(await metricValue(registry, 'kedge_cloudhub_sessions_timed_out_total')).toBe(1);
    expect(await metricValue(registry, 'kedge_cloudhub_connected_nodes')).toBe(0);
    expect(events).toContainEqual({ type: 'disconnected', nodeName: 'node-a', reason: expect.stringMatching(/keepalive timeout/) });
  });

  it('keepalive - a node heard within the timeout is kept while a silent one is dropped (controlled clock)', async () => {
    let clock = 1_000_000;
    const { hub, dial } = await startHub(pki, cleanup, { keepaliveTimeoutMs: 300, now: () => clock });
    const talker = await dial('node-a');
    await dial('node-b');
    await waitFor(() => hub.isConnected('node-a') && hub.isConnected('node-b'), 'both sessions');
    clock += 250;
    await talker.connection.send(edgeMessage({ operation: Operation.Keepalive, resource: 'null/node/node-a', content: 'ping' }));
    await waitFor(() => hub.listSessions().find((s) => s.nodeName === 'node-a')?.messagesIn === 1, 'the keepalive at the hub');
    // node-b now silent for 400 ms of hub time, node-a for 150 ms: every sweep sees the same clock
    clock += 150;
    await waitFor(() => !hub.isConnected('node-b'), 'node-b to be dropped');
    expect(hub.isConnected('node-a')).toBe(true);
    expect(talker.connection.closed).toBe(false);
  });

  it('limits - nodeLimit refuses an extra node but lets a connected node reconnect', async () => {
    const { hub, registry, dial } = await startHub(pki, cleanup, { nodeLimit: 1 });
    await dial('node-a');
    await waitFor(() => hub.isConnected('node-a'), 'node-a session');
    const extra = await dial('node-b');
    await waitFor(() => extra.closes.length === 1, 'the extra node to be closed');
    expect(extra.closes[0]?.reason).toMatch(/node limit 1 reached/);
    expect(hub.isConnected('node-b')).toBe(false);
    expect(await metricValue(registry, 'kedge_cloudhub_refused_connections_total', { transport: 'websocket', reason: 'node-limit' })).toBe(1);
    const again = await dial('node-a');
    await waitFor(async () => (await metricValue(registry, 'kedge_cloudhub_sessions_replaced_total')) === 1, 'node-a replaced');
    expect(again.connection.closed).toBe(false);
    expect(hub.listSessions().map((s) => s.nodeName)).toEqual(['node-a']);
  });

  it('observers - onNodeConnection sees connected and disconnected until unsubscribed', async () => {
    const { hub, dial } = await startHub(pki, cleanup);
    const events: NodeConnectionEvent[] = [];
    const unsubscribe = hub.onNodeConnection((event) => events.push(event));
    hub.onNodeConnection(() => {
      throw new Error('a failing observer must not stop the others');
    });
    const edge = await dial('node-a');
    await waitFor(() => events.length === 1, 'connected event');
    expect(events[0]).toEqual({ type: 'connected', nodeName: 'node-a', transport: 'websocket' });
    await edge.connection.close('edge going away');
    await waitFor(() => events.length === 2, 'disconnected event');
    expect(events[1]).toMatchObject({ type: 'disconnected', nodeName: 'node-a' });
    expect(hub.isConnected('node-a')).toBe(false);
    unsubscribe();
    await dial('node-b');
    await waitFor(() => hub.isConnected('node-b'), 'node-b session');
    expect(events).toHaveLength(2);
  });

  it('close - closes every session and the listeners', async () => {
    const { hub, registry, listeners, dial } = await startHub(pki, cleanup);
    const a = await dial('node-a');
    const b = await dial('node-b');
    await waitFor(() => hub.listSessions().length === 2, 'two sessions');
    await hub.close();
    await waitFor(() => a.closes.length === 1 && b.closes.length === 1, 'both edges closed');
    expect(hub.listSessions()).toEqual([]);
    expect(await metricValue(registry, 'kedge_cloudhub_connected_nodes')).toBe(0);
    const port = listeners.websocket?.port;
    const redial = dialHub('websocket', { url: `wss://127.0.0.1:${port}`, tls: await pki.node('node-a'), nodeName: 'node-a', handshakeTimeoutMs: 5_000 });
    await expect(redial).rejects.toBeInstanceOf(DialError);
  });
});

const quic = await requires('quic');

quic.describe('cloudhub over quic', () => {
  it('quic - a node over QUIC gets a session, prefixed upstream, stripped downstream and ping', async () => {
    const { hub, router, dial } = await startHub(pki, cleanup, { transports: ['websocket', 'quic'] });
    const received: Message[] = [];
    router.register(Group.Resource, (message) => {
      received.push(message);
    });
    const edge = await dial('node-q', 'quic');
    answerPings(edge);
    await waitFor(() => hub.isConnected('node-q'), 'quic session');
    expect(hub.listSessions()[0]).toMatchObject({ nodeName: 'node-q', transport: 'quic' });
    await edge.connection.send(edgeMessage({ resource: 'default/podstatus/web' }));
    await waitFor(() => received.length === 1, 'the upstream message');
    expect(received[0]?.route.resource).toBe('node/node-q/default/podstatus/web');
    await hub.sendToNode(edgeMessage({ resource: 'node/node-q/default/pod/web' }));
    await waitFor(() => edge.messages.some((m) => m.route.resource === 'default/pod/web'), 'the downstream message');
    expect(typeof (await hub.ping('node-q'))).toBe('number');
    // a websocket node and a quic node side by side
    await dial('node-w');
    await waitFor(() => hub.listSessions().length === 2, 'two sessions');
    expect(hub.listSessions().map((s) => s.transport).sort()).toEqual(['quic', 'websocket']);
  });
});

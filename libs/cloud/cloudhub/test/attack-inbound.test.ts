// Threat suite for what one connected edge can make cloudcore do: flood it with valid messages, keep
// its modules busy, or send garbage. Real CloudHub behind real WebSocket listeners on loopback, edges
// with real node certificates; the router's handlers stand in for the cloud modules.
import { Group, encodeBatch, encodeMessage, newResponse } from '@kedge/protocol';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Cleanup, createTestPki, edgeMessage, metricValue, startHub, waitFor, type EdgeEnd, type TestPki } from './fixtures';

let pki: TestPki;
const cleanup = new Cleanup();

beforeAll(async () => {
  pki = await createTestPki();
});
afterEach(() => cleanup.run());

function answerPings(end: EdgeEnd): void {
  end.connection.on('message', (message) => {
    if (message.route.group === Group.Hub && message.route.operation === 'ping') {
      void end.connection.send(newResponse(message, 'pong', 'edgehub'));
    }
  });
}

/** A bare WebSocket with node-a's certificate, for frames our own dialer would refuse to send. */
async function rawEdge(port: number, nodeName: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const tls = await pki.node(nodeName);
  const socket = new WebSocket(`wss://127.0.0.1:${port}/project/${nodeName}/events`, { cert: tls.cert, key: tls.key, ca: tls.ca, headers });
  cleanup.add(() => socket.terminate());
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return socket;
}

describe('threat - cloudhub inbound', () => {
  it('attack - an edge sending garbage frames past maxBadFramesPerMinute is disconnected, and other edges are not', async () => {
    const { hub, registry, listeners, dial } = await startHub(pki, cleanup, { inbound: { maxBadFramesPerMinute: 5 } });
    const good = await dial('good-edge');
    answerPings(good);
    const attacker = await rawEdge(listeners.websocket!.port, 'bad-edge');
    await waitFor(() => hub.isConnected('bad-edge'), 'the attacker session');
    const closed = new Promise<number>((resolve) => attacker.once('close', resolve));
    for (let i = 0; i < 50; i += 1) if (attacker.readyState === WebSocket.OPEN) attacker.send(`not json ${i}`);
    await closed;
    await waitFor(() => !hub.isConnected('bad-edge'), 'the attacker session gone');
    expect(await metricValue(registry, 'kedge_cloudhub_refused_connections_total', { transport: 'websocket', reason: 'bad-frames' })).toBe(1);
    expect(hub.isConnected('good-edge')).toBe(true);
    expect(await hub.ping('good-edge', 2_000)).toBeLessThan(2_000);
  });

  it('attack - an edge sending messages to routes nobody serves past maxBadFramesPerMinute is disconnected', async () => {
    const { hub, registry, dial } = await startHub(pki, cleanup, { inbound: { maxBadFramesPerMinute: 5 } });
    const attacker = await dial('bad-edge');
    for (let i = 0; i < 20 && !attacker.connection.closed; i += 1) {
      await attacker.connection.send(edgeMessage({ group: 'no-such-module', resource: 'default/pod/x' })).catch(() => undefined);
    }
    await waitFor(() => attacker.closes.length === 1, 'the attacker disconnected');
    expect(attacker.closes[0]?.reason).toMatch(/bad frames within 60 s \(limit 5\)/);
    expect(await metricValue(registry, 'kedge_cloudhub_refused_connections_total', { transport: 'websocket', reason: 'bad-frames' })).toBe(1);
    expect(hub.isConnected('bad-edge')).toBe(false);
  });

  it('attack - an edge flooding valid messages past its message rate is paused, not buffered, and loses nothing', async () => {
    const { hub, router, registry, dial } = await startHub(pki, cleanup, { inbound: { messagesPerSecond: 500, messageBurst: 100 } });
    const handled: number[] = [];
    router.register('flood', () => {
      handled.push(Date.now());
    });
    const good = await dial('good-edge');
    answerPings(good);
    const attacker = await dial('flooder');
    const started = Date.now();
    const total = 3_000;
    const sends = Array.from({ length: total }, (_, i) => attacker.connection.send(edgeMessage({ group: 'flood', resource: `default/configmap/c${i}` })));
    // while the flood is held back, the other edge is served at once
    await waitFor(() => handled.length >= 200, 'the flood to start');
    expect(await hub.ping('good-edge', 2_000)).toBeLessThan(1_000);
    await Promise.all(sends);
    await waitFor(() => handled.length === total, 'every flooded message, eventually');
    const elapsedMs = (handled.at(-1) ?? 0) - started;
    // 100 at once, then 500/s: about 5.8 s; unthrottled this takes well under one
    expect(elapsedMs).toBeGreaterThan(4_000);
    expect(await metricValue(registry, 'kedge_cloudhub_inbound_paused_total', { reason: 'rate' })).toBeGreaterThan(0);
    expect(hub.isConnected('flooder')).toBe(true);
  });

  it('attack - an edge keeping more than maxInFlight messages busy in cloud modules is paused until they finish', async () => {
    const { router, registry, dial } = await startHub(pki, cleanup, { inbound: { maxInFlight: 10 } });
    let started = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    router.register('slow', async () => {
      started += 1;
      await gate;
    });
    const attacker = await dial('slow-edge');
    const total = 2_000;
    const sends = Array.from({ length: total }, (_, i) => attacker.connection.send(edgeMessage({ group: 'slow', resource: `default/configmap/s${i}` })));
    await waitFor(() => started >= 10, 'the first ten in flight');
    await new Promise((resolve) => setTimeout(resolve, 500));
    // frames already read from the socket when it paused are still handled: one read's worth, not the flood
    expect(started).toBeLessThan(total / 4);
    expect(await metricValue(registry, 'kedge_cloudhub_inbound_paused_total', { reason: 'in-flight' })).toBeGreaterThan(0);
    release();
    await Promise.all(sends);
    await waitFor(() => started === total, 'every message once the modules caught up');
  });

  it('attack - a bad message hidden in a batch frame is refused, counted and logged on its own; the rest is handled', async () => {
    const { hub, router, registry, listeners } = await startHub(pki, cleanup);
    const handled: unknown[] = [];
    router.register('batch', (message) => {
      handled.push(message.content);
    });
    // an edge that announces batch frames, as kedge's own dialer does
    const attacker = await rawEdge(listeners.websocket!.port, 'batch-edge', { 'kedge-batch-frames': '1' });
    await waitFor(() => hub.isConnected('batch-edge'), 'the attacker session');
    const good = (content: string): string => encodeMessage(edgeMessage({ group: 'batch', resource: 'default/configmap/c', content }));
    const smuggled = good('smuggled').replace('"resource":"default/configmap/c"', '"resource":"default/configmap/c","target":"node/other"');
    attacker.send(encodeBatch([good('one'), smuggled, good('two')]));
    await waitFor(() => handled.length === 2, 'the two good messages');
    expect(handled).toEqual(['one', 'two']);
    expect(await metricValue(registry, 'kedge_cloudhub_bad_frames_total', { transport: 'websocket' })).toBe(1);
    expect(hub.isConnected('batch-edge')).toBe(true);
  });
});


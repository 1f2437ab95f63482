// Threat suite for stream flow control: an edge that ignores the window the cloud granted. A real
// CloudHub on a WebSocket listener, the edge dialed with a real node certificate, the StreamTable on
// the hub's router, and a kubectl side (the sink) that reads nothing, so no ack ever widens the window.
import { CloudHub, CloudHubMetrics } from '@kedge/cloudhub';
import { STREAM_GROUP, newMessage, type Message } from '@kedge/protocol';
import { MessageRouter } from '@kedge/router';
import { createLogger, createMetricsRegistry } from '@kedge/telemetry';
import { Cleanup, createTestPki, metricValue, waitFor } from '@kedge/testkit';
import { dialHub, listenHub } from '@kedge/transport';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudStreamMetrics, StreamTable, type StreamSink } from '../src/index';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

describe('threat - stream flow control', () => {
  it('attack - an edge sending stream data beyond the window the cloud granted has it dropped and counted', async () => {
    const pki = await createTestPki();
    const logger = createLogger({ name: 'cloudstream-attack', level: 'silent' });
    const router = new MessageRouter({ onHandlerError: () => undefined });
    const hub = new CloudHub({ router, logger, metrics: new CloudHubMetrics(createMetricsRegistry({ defaultMetrics: false })) });
    cleanup.add(() => router.close());
    cleanup.add(() => hub.close());
    const listener = await listenHub('websocket', { host: '127.0.0.1', port: 0, tls: pki.server });
    hub.attach(listener);
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const table = new StreamTable({ hub, router, logger, windowBytes: 64 * 1024, metrics: new CloudStreamMetrics(registry) });
    cleanup.add(() => table.close());

    const edge = await dialHub('websocket', { url: `wss://127.0.0.1:${listener.port}`, tls: await pki.node('gw-greedy'), nodeName: 'gw-greedy', handshakeTimeoutMs: 5_000 });
    cleanup.add(() => edge.close());
    const opens: Message[] = [];
    edge.on('message', (message) => {
      if (message.route.group === STREAM_GROUP && message.route.operation === 'open') opens.push(message);
    });
    await waitFor(() => hub.isConnected('gw-greedy'), 'the edge session');

    // kubectl that never reads: data is accepted into the sink but never written, so never acked
    let delivered = 0;
    const sink: StreamSink = { ready: () => undefined, data: (_channel, data) => void (delivered += data.length), closed: () => undefined, failed: () => undefined };
    table.open({ nodeName: 'gw-greedy', namespace: 'default', podName: 'chatty', kind: 'log', container: 'app', options: { follow: true, previous: false, timestamps: false } }, sink);
    await waitFor(() => opens.length === 1, 'the open at the edge');
    const { id, window } = opens[0]?.content as { id: string; window: number };
    expect(window).toBe(64 * 1024);

    // 40 chunks of 16 KiB = 640 KiB, ten times the window, without waiting for a single ack
    const chunk = Buffer.alloc(16 * 1024, 0x61).toString('base64');
    for (let i = 0; i < 40; i += 1) {
      await edge.send(newMessage({ source: 'edgestream', group: STREAM_GROUP, operation: 'data', resource: 'default/pod/chatty', content: { id, channel: 1, data: chunk } }));
    }
    await waitFor(async () => (await metricValue(registry, 'kedge_cloudstream_refused_frames_total', { kind: 'log', reason: 'over-window' })) === 36, 'the frames past the window refused');
    expect(delivered).toBe(64 * 1024);
  });
});

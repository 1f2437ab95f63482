import { newMessage, type Message } from '@kedge/protocol';
import { MessageRouter } from '@kedge/router';
import { createLogger } from '@kedge/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import type { StreamRefusedError} from '../src/index';
import { MalformedStreamFrameError, StreamTable, UnknownStreamError, type StreamSink, type StreamSpec } from '../src/index';

const logger = createLogger({ name: 'cloudstream-test', level: 'silent' });

function fakeHub(connected: string[]) {
  const sent: Message[] = [];
  const observers: Array<(event: { type: 'connected' | 'disconnected'; nodeName: string }) => void> = [];
  return {
    sent,
    disconnect: (nodeName: string) => observers.forEach((o) => o({ type: 'disconnected', nodeName })),
    hub: {
      sendToNode: async (m: Message) => void sent.push(m),
      isConnected: (n: string) => connected.includes(n),
      onNodeConnection: (o: (typeof observers)[number]) => (observers.push(o), () => undefined),
    },
  };
}

function recordingSink() {
  const events: string[] = [];
  const sink: StreamSink = {
    ready: () => events.push('ready'),
    data: (channel, data, written) => (events.push(`data:${channel}:${data.toString()}`), written()),
    closed: (c) => events.push(`closed:${c.exitCode ?? ''}`),
    failed: (code, message) => events.push(`failed:${code}:${message}`),
  };
  return { events, sink };
}

const spec = (nodeName: string): StreamSpec => ({ nodeName, namespace: 'default', podName: 'p', kind: 'log', container: 'c', options: { follow: false, previous: false, timestamps: false } });
const fromEdge = (node: string, operation: string, content: unknown): Message =>
  newMessage({ source: 'edgestream', group: 'stream', operation, resource: `node/${node}/default/pod/p`, content });

describe('cloudstream - stream table', () => {
  let router: MessageRouter;
  afterEach(() => router?.close());

  it('stream table - opens a stream on the pod node and relays data, acks and close', async () => {
    router = new MessageRouter();
    const { hub, sent } = fakeHub(['a']);
    const table = new StreamTable({ hub, router, logger, ackEveryBytes: 4 });
    const { events, sink } = recordingSink();
    const id = table.open(spec('a'), sink);
    expect(sent[0]?.route).toMatchObject({ group: 'stream', operation: 'open', resource: 'node/a/default/pod/p' });
    await router.dispatch(fromEdge('a', 'data', { id, channel: 1, data: Buffer.from('hello').toString('base64') }));
    await router.dispatch(fromEdge('a', 'close', { id }));
    expect(events).toEqual(['ready', 'data:1:hello', 'closed:']);
    expect(sent.map((m) => m.route.operation)).toEqual(['open', 'ack']);
    expect(table.countFor('a')).toBe(0);
  });

  it('stream table - refuses a node without a session with 503 and too many streams with 429', () => {
    router = new MessageRouter();
    const { hub } = fakeHub(['a']);
    const table = new StreamTable({ hub, router, logger, maxStreamsPerNode: 1 });
    expect(() => table.open(spec('ghost'), recordingSink().sink)).toThrow(expect.objectContaining({ code: 503 }) as StreamRefusedError);
    table.open(spec('a'), recordingSink().sink);
    expect(() => table.open(spec('a'), recordingSink().sink)).toThrow(expect.objectContaining({ code: 429 }) as StreamRefusedError);
  });

  it('stream table - an edge cannot open streams nor touch another node stream', async () => {
    const refused: unknown[] = [];
    router = new MessageRouter({ onHandlerError: (error) => refused.push(error) });
    const { hub } = fakeHub(['a', 'b']);
    const table = new StreamTable({ hub, router, logger });
    const { events, sink } = recordingSink();
    const id = table.open(spec('a'), sink);
    await router.dispatch(fromEdge('b', 'data', { id, channel: 1, data: 'eA==' })).catch((e: unknown) => refused.push(e));
    await router.dispatch(fromEdge('b', 'open', { id: 'x', kind: 'exec' })).catch((e: unknown) => refused.push(e));
    await router.dispatch(fromEdge('a', 'open', { id, kind: 'exec' })).catch((e: unknown) => refused.push(e));
    expect(refused).toHaveLength(3);
    for (const error of refused) expect(error).toBeInstanceOf(UnknownStreamError);
    expect(events).toEqual([]);
    expect(table.countFor('a')).toBe(1);
  });

  it('stream table - a disconnecting node fails its streams with 503', () => {
    router = new MessageRouter();
    const { hub, disconnect } = fakeHub(['a']);
    const table = new StreamTable({ hub, router, logger });
    const { events, sink } = recordingSink();
    table.open(spec('a'), sink);
    disconnect('a');
    expect(events).toEqual(['failed:503:edge node "a" disconnected']);
  });

  it('stream table - malformed data for attach and portforward streams is refused and counted', async () => {
    const refused: unknown[] = [];
    router = new MessageRouter({ onHandlerError: (error) => refused.push(error) });
    const { hub } = fakeHub(['a']);
    const table = new StreamTable({ hub, router, logger });
    const forward = recordingSink();
    const attach = recordingSink();
    const forwardId = table.open({ ...spec('a'), kind: 'portforward', container: '', options: { port: 8080 } }, forward.sink);
    const attachId = table.open({ ...spec('a'), kind: 'attach', options: { stdin: true, stdout: true, stderr: false, tty: true } }, attach.sink);
    // a forwarded connection has one direction of bytes from the pod (1); attach has stdout and stderr
    await router.dispatch(fromEdge('a', 'data', { id: forwardId, channel: 2, data: 'eA==' })).catch((e: unknown) => refused.push(e));
    await router.dispatch(fromEdge('a', 'data', { id: attachId, channel: 3, data: 'eA==' })).catch((e: unknown) => refused.push(e));
    await router.dispatch(fromEdge('a', 'data', { id: attachId, channel: 1, data: 'not base64!' })).catch((e: unknown) => refused.push(e));
    await router.dispatch(fromEdge('a', 'data', { id: attachId, channel: 1, data: 42 })).catch((e: unknown) => refused.push(e));
    expect(refused).toHaveLength(4);
    for (const error of refused) expect(error).toBeInstanceOf(MalformedStreamFrameError);
    expect((refused[0] as Error).message).toContain('portforward data on channel 2 (expected 1');
    expect(forward.events).toEqual([]);
    expect(attach.events).toEqual([]);
    const counted = (await table.metrics.refusedFrames.get()).values.map((v) => [v.labels.kind, v.value]);
    expect(counted).toEqual([
      ['portforward', 1],
      ['attach', 3],
    ]);
    // the streams themselves stay usable
    await router.dispatch(fromEdge('a', 'data', { id: forwardId, channel: 1, data: Buffer.from('ok').toString('base64') }));
    expect(forward.events).toEqual(['ready', 'data:1:ok']);
  });
});

// exec and attach over SPDY/3.1 against a client that frames and compresses as kubectl's SPDY library, and a
// fake hub: streams by streamType, the process opened once the asked-for streams are there, output back on
// stdout/stderr, the exit Status on the error stream; forged streams refused and counted. The real kubectl
// (SPDY fallback) through the real kubelet API is in tools/e2e/kubelet-api.test.ts.
import { newMessage, type Message } from '@kedge/protocol';
import { MessageRouter } from '@kedge/router';
import { createLogger } from '@kedge/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import { StreamTable, type StreamSpec } from '../src/index';
import { ProcessSpdySession } from '../src/process-spdy-session';
import { ControlType, FLAG_FIN, dataFrame } from '@kedge/spdy';
import { SpdyClient } from './spdy-test-client';

const logger = createLogger({ name: 'process-spdy-test', level: 'silent' });
const NODE = 'edge-a';

const fromEdge = (operation: string, content: unknown): Message =>
  newMessage({ source: 'edgestream', group: 'stream', operation, resource: `node/${NODE}/default/pod/web`, content });

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

describe('cloudstream - exec over SPDY', () => {
  let router: MessageRouter;
  afterEach(() => router?.close());

  function start(options: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }, streamCreationTimeoutMs?: number) {
    router = new MessageRouter({ onHandlerError: () => undefined });
    const sent: Message[] = [];
    const hub = { sendToNode: async (m: Message) => void sent.push(m), isConnected: (n: string) => n === NODE, onNodeConnection: () => () => undefined };
    const table = new StreamTable({ hub, router, logger });
    const spec: StreamSpec = { nodeName: NODE, namespace: 'default', podName: 'web', container: 'app', kind: 'exec', options: { ...options, command: ['sh'] } };
    const client = new SpdyClient((bytes) => session.receive(bytes));
    const session = new ProcessSpdySession({ link: client.link, table, spec, metrics: table.metrics, logger, ...(streamCreationTimeoutMs ? { streamCreationTimeoutMs } : {}) });
    const opened = () => sent.filter((m) => m.route.operation === 'open').map((m) => m.content as { id: string; kind: string });
    const upData = () => sent.filter((m) => m.route.operation === 'data').map((m) => m.content as { channel: number; data: string });
    return { client, table, opened, upData };
  }

  it('exec over SPDY - runs once error, stdin, stdout and stderr exist; relays both ways; ends with the exit Status', async () => {
    const { client, opened, upData } = start({ stdin: true, stdout: true, stderr: true, tty: false });
    await client.synStream(1, [['Streamtype', 'error']]);
    await client.synStream(3, [['Streamtype', 'stdin']]);
    await client.synStream(5, [['Streamtype', 'stdout']]);
    await settle();
    expect(opened()).toEqual([]);
    await client.synStream(7, [['Streamtype', 'stderr']]);
    await settle();
    expect(client.controls(ControlType.SynReply).map((p) => p.readUInt32BE(0))).toEqual([1, 3, 5, 7]);
    const [exec] = opened();
    expect(exec?.kind).toBe('exec');

    client.deliver(dataFrame(3, 0, Buffer.from('echo hi\n')));
    client.deliver(dataFrame(3, FLAG_FIN, Buffer.alloc(0)));
    await settle();
    expect(upData()).toEqual([
      { id: exec?.id, channel: 0, data: Buffer.from('echo hi\n').toString('base64') },
      { id: exec?.id, channel: 255, data: '' },
    ]);
    await router.dispatch(fromEdge('data', { id: exec?.id, channel: 1, data: Buffer.from('hi\n').toString('base64') }));
    await router.dispatch(fromEdge('data', { id: exec?.id, channel: 2, data: Buffer.from('warn\n').toString('base64') }));
    await router.dispatch(fromEdge('close', { id: exec?.id, exitCode: 3 }));
    await settle();
    expect(client.dataOn(5)).toBe('hi\n');
    expect(client.dataOn(7)).toBe('warn\n');
    expect(JSON.parse(client.dataOn(1))).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
    expect([1, 3, 5, 7].every((id) => client.finished(id))).toBe(true);
    expect(client.closed).toBe(true);
  });

  it('exec over SPDY - with a terminal: no stderr stream, resize goes to channel 4, success is a Success Status', async () => {
    const { client, opened, upData } = start({ stdin: false, stdout: true, stderr: true, tty: true });
    await client.synStream(1, [['Streamtype', 'error']]);
    await client.synStream(3, [['Streamtype', 'stdout']]);
    await client.synStream(5, [['Streamtype', 'resize']]);
    await settle();
    const [exec] = opened();
    expect(exec).toBeDefined();
    client.deliver(dataFrame(5, 0, Buffer.from('{"Width":120,"Height":40}')));
    await settle();
    expect(upData()).toEqual([{ id: exec?.id, channel: 4, data: Buffer.from('{"Width":120,"Height":40}').toString('base64') }]);
    await router.dispatch(fromEdge('close', { id: exec?.id, exitCode: 0 }));
    await settle();
    expect(JSON.parse(client.dataOn(1))).toEqual({ metadata: {}, status: 'Success' });
  });

  it('attack - unknown, duplicate and even-numbered streams are reset and counted, and open nothing', async () => {
    const { client, table, opened } = start({ stdin: false, stdout: true, stderr: false, tty: false });
    await client.synStream(1, [['Streamtype', 'error']]);
    await client.synStream(3, [['Streamtype', 'shell']]);
    await client.synStream(5, [['Streamtype', 'error']]);
    await client.synStream(6, [['Streamtype', 'stdout']]);
    await settle();
    expect(client.controls(ControlType.RstStream).map((p) => p.readUInt32BE(0))).toEqual([3, 5, 6]);
    expect(opened()).toEqual([]);
    const refused = (await table.metrics.refusedFrames.get()).values.map((v) => [v.labels.reason, v.value]);
    expect(refused).toEqual(expect.arrayContaining([['bad-stream-headers', 2], ['bad-stream-id', 1]]));
  });

  it('attack - a client that never opens its streams is ended at the creation deadline', async () => {
    const { client, opened } = start({ stdin: false, stdout: true, stderr: false, tty: false }, 100);
    await client.synStream(1, [['Streamtype', 'error']]);
    const deadline = Date.now() + 20_000;
    while (!client.closed && Date.now() < deadline) await settle();
    expect(client.closed).toBe(true);
    expect(JSON.parse(client.dataOn(1)).message).toContain('timed out waiting for the client to create the streams stdout');
    expect(opened()).toEqual([]);
  });
});

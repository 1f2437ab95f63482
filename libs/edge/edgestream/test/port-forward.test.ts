// The edge end of a port-forward connection: the border check of `open`, and EdgeStream dialling a real
// TCP server standing in for the pod (a sandbox on the node's network is reached on 127.0.0.1).
import { createServer, type Server, type Socket } from 'node:net';
import { newMessage, type Message } from '@kedge/protocol';
import { MessageRouter } from '@kedge/router';
import { createLogger } from '@kedge/telemetry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EdgeStream, StreamFailure, UnanswerableOpenError, parseOpenRequest } from '../src/index';

const logger = createLogger({ name: 'edgestream-test', level: 'silent' });

describe('edgestream - open request', () => {
  const open = (content: Record<string, unknown>, resource = 'default/pod/web') => () => parseOpenRequest(resource, { id: 's1', container: 'c', window: 1024, ...content });

  it('open request - accepts attach and portforward with their options', () => {
    expect(open({ kind: 'portforward', container: '', options: { port: 8080 } })()).toMatchObject({ kind: 'portforward', namespace: 'default', podName: 'web', options: { port: 8080 } });
    expect(open({ kind: 'attach', options: { stdin: true, stdout: true, tty: true } })()).toMatchObject({
      kind: 'attach',
      container: 'c',
      options: { stdin: true, stdout: true, stderr: false, tty: true },
    });
  });

  it('open request - refuses malformed options with a 400 naming the field', () => {
    expect(open({ kind: 'portforward', options: { port: 70000 } })).toThrow(/"port" must be an integer from 1 to 65535, not 70000/);
    expect(open({ kind: 'portforward', options: { port: '80' } })).toThrow(StreamFailure);
    expect(open({ kind: 'portforward', options: null })).toThrow(/portforward options must be an object/);
    expect(open({ kind: 'attach', options: { stdin: 'yes' } })).toThrow(/attach option "stdin" must be a boolean/);
    expect(open({ kind: 'attach', options: {} })).toThrow(/attach needs at least one of stdin, stdout and stderr/);
    expect(open({ kind: 'attach', container: '', options: { stdout: true } })).toThrow(/attach needs a container name/);
    expect(open({ kind: 'tunnel', options: {} })).toThrow(/unknown kind "tunnel"/);
    expect(open({ kind: 'portforward', options: { port: 80 } }, 'default/svc/web')).toThrow(/is not <namespace>\/pod\/<name>/);
    expect(() => parseOpenRequest('default/pod/web', { kind: 'portforward' })).toThrow(UnanswerableOpenError);
    try {
      open({ kind: 'portforward', options: { port: 0 } })();
    } catch (error) {
      expect((error as StreamFailure).code).toBe(400);
    }
  });
});

describe('edgestream - port-forward connections', () => {
  let router: MessageRouter;
  let edge: EdgeStream;
  let sent: Message[];
  let pod: Server;
  let podPort: number;
  const podSockets: Socket[] = [];

  const cri = {
    listPodSandbox: async () => [{ id: 'sb1', createdAt: 1n }],
    podSandboxStatus: async () => ({ id: 'sb1', ip: '', namespaceOptions: { network: 'NODE' } }),
  } as never;

  beforeEach(async () => {
    router = new MessageRouter({ onHandlerError: () => undefined });
    sent = [];
    edge = new EdgeStream({ send: async (m) => void sent.push(m), router, cri, logger });
    // an echo server that upper-cases, standing in for the pod's port
    pod = createServer((socket) => {
      podSockets.push(socket);
      socket.on('data', (chunk: Buffer) => socket.write(chunk.toString().toUpperCase()));
      socket.on('end', () => socket.end());
    });
    await new Promise<void>((resolve) => pod.listen(0, '127.0.0.1', resolve));
    podPort = (pod.address() as { port: number }).port;
  });
  afterEach(async () => {
    edge.close();
    router.close();
    for (const socket of podSockets.splice(0)) socket.destroy();
    await new Promise((resolve) => pod.close(resolve));
  });

  const fromCloud = (operation: string, content: unknown): Promise<void> =>
    router.dispatch(newMessage({ source: 'cloudstream', group: 'stream', operation, resource: 'default/pod/web', content }));
  const answers = (operation: string) => sent.filter((m) => m.route.operation === operation).map((m) => m.content as Record<string, unknown>);
  const received = (id: string) =>
    sent
      .filter((m) => m.route.operation === 'data' && (m.content as { id: string }).id === id)
      .map((m) => Buffer.from((m.content as { data: string }).data, 'base64').toString())
      .join('');
  const until = async (condition: () => boolean, what: string): Promise<void> => {
    const deadline = Date.now() + 5000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  it('port-forward connections - relays both ways and closes when kubectl ends its side', async () => {
    await fromCloud('open', { id: 'c1', kind: 'portforward', container: '', options: { port: podPort }, window: 65536 });
    await until(() => answers('ready').length === 1, 'ready');
    await fromCloud('data', { id: 'c1', channel: 0, data: Buffer.from('hello').toString('base64') });
    await until(() => received('c1') === 'HELLO', 'the echo');
    // the cloud learns the pod took kubectl's bytes, and reads on from kubectl
    expect(answers('ack')).toEqual([{ id: 'c1', bytes: 5 }]);
    await fromCloud('data', { id: 'c1', channel: 255, data: '' });
    await until(() => answers('close').length === 1, 'close');
    expect(answers('close')[0]).toEqual({ id: 'c1' });
    expect(edge.openStreams).toBe(0);
  });

  it('port-forward connections - concurrent connections are separate streams', async () => {
    await fromCloud('open', { id: 'a', kind: 'portforward', container: '', options: { port: podPort }, window: 65536 });
    await fromCloud('open', { id: 'b', kind: 'portforward', container: '', options: { port: podPort }, window: 65536 });
    await until(() => answers('ready').length === 2, 'both ready');
    await fromCloud('data', { id: 'b', channel: 0, data: Buffer.from('bee').toString('base64') });
    await fromCloud('data', { id: 'a', channel: 0, data: Buffer.from('ant').toString('base64') });
    await until(() => received('a') === 'ANT' && received('b') === 'BEE', 'both echoes');
    await fromCloud('close', { id: 'a' });
    expect(edge.openStreams).toBe(1);
  });

  it('port-forward connections - a refused port is an error answer on that stream only', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    await fromCloud('open', { id: 'ok', kind: 'portforward', container: '', options: { port: podPort }, window: 65536 });
    await fromCloud('open', { id: 'bad', kind: 'portforward', container: '', options: { port: closedPort }, window: 65536 });
    await until(() => answers('error').length === 1, 'the error');
    expect(answers('error')[0]).toMatchObject({ id: 'bad', code: 502 });
    expect(String(answers('error')[0]?.message)).toMatch(new RegExp(`error forwarding port ${closedPort} to pod default/web: failed to connect to 127.0.0.1:${closedPort}: connect ECONNREFUSED`));
    await fromCloud('data', { id: 'ok', channel: 0, data: Buffer.from('still').toString('base64') });
    await until(() => received('ok') === 'STILL', 'the other connection');
  });

  it('port-forward connections - the pod output waits for acks beyond the window', async () => {
    const big = 'x'.repeat(300 * 1024);
    const bulk = createServer((socket) => {
      podSockets.push(socket);
      socket.end(big);
    });
    await new Promise<void>((resolve) => bulk.listen(0, '127.0.0.1', resolve));
    try {
      await fromCloud('open', { id: 'bulk', kind: 'portforward', container: '', options: { port: (bulk.address() as { port: number }).port }, window: 64 * 1024 });
      await until(() => received('bulk').length >= 64 * 1024, 'the first window');
      await new Promise((resolve) => setTimeout(resolve, 200));
      // one window, plus at most the chunk that was on its way when it filled
      expect(received('bulk').length).toBeLessThanOrEqual(128 * 1024);
      // ack what arrived, as cloudstream does once kubectl took it, until the pod's output is all through
      let acked = 0;
      const deadline = Date.now() + 10_000;
      while (!answers('close').some((c) => c.id === 'bulk') && Date.now() < deadline) {
        const arrived = received('bulk').length;
        if (arrived > acked) await fromCloud('ack', { id: 'bulk', bytes: arrived - acked });
        acked = arrived;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(received('bulk')).toBe(big);
    } finally {
      edge.close();
      await new Promise((resolve) => bulk.close(resolve));
    }
  });

  it('port-forward connections - malformed frames are refused, answered and counted', async () => {
    await fromCloud('open', { id: 'x', kind: 'portforward', container: '', options: { port: 99999 }, window: 1024 });
    expect(answers('error')).toEqual([{ id: 'x', code: 400, message: 'stream x: portforward option "port" must be an integer from 1 to 65535, not 99999' }]);
    await fromCloud('open', { kind: 'portforward' });
    await fromCloud('open', { id: 'c', kind: 'portforward', container: '', options: { port: podPort }, window: 1024 });
    await until(() => answers('ready').length === 1, 'ready');
    // resize (4) means nothing to a TCP connection; the payload must be base64
    await fromCloud('data', { id: 'c', channel: 4, data: '' });
    await fromCloud('data', { id: 'c', channel: 0, data: '%%%' });
    const refused = (await edge.metrics.refusedFrames.get()).values.map((v) => [v.labels.operation, v.labels.reason, v.value]);
    expect(refused).toEqual([
      ['open', 'bad-open', 1],
      ['open', 'no-id', 1],
      ['data', 'bad-data', 2],
    ]);
    // the connection is untouched by the refused frames
    await fromCloud('data', { id: 'c', channel: 0, data: Buffer.from('fine').toString('base64') });
    await until(() => received('c') === 'FINE', 'the echo');
  });
});

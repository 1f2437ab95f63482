// The port-forward SPDY session against a client that frames and compresses as kubectl's SPDY library
// does (one deflate context with the SPDY/3 dictionary, a sync flush per header block), and a fake hub.
import { constants as zlibConstants, createInflate } from 'node:zlib';
import { newMessage, type Message } from '@kedge/protocol';
import { MessageRouter } from '@kedge/router';
import { createLogger } from '@kedge/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import { PortForwardTunnel, StreamTable } from '../src/index';
import { SpdyClient } from './spdy-test-client';
import { ControlType, FLAG_FIN, controlFrame, dataFrame, decodeHeaderPairs } from '@kedge/spdy';

const logger = createLogger({ name: 'port-forward-test', level: 'silent' });
const NODE = 'edge-a';

function fakeHub() {
  const sent: Message[] = [];
  return {
    sent,
    hub: {
      sendToNode: async (m: Message) => void sent.push(m),
      isConnected: (n: string) => n === NODE,
      onNodeConnection: () => () => undefined,
    },
  };
}

const fromEdge = (operation: string, content: unknown): Message =>
  newMessage({ source: 'edgestream', group: 'stream', operation, resource: `node/${NODE}/default/pod/web`, content });

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

describe('cloudstream - port-forward tunnel', () => {
  let router: MessageRouter;
  afterEach(() => router?.close());

  function start(maxPendingUploadBytes?: number): { client: SpdyClient; table: StreamTable; sent: Message[]; tunnel: PortForwardTunnel } {
    router = new MessageRouter({ onHandlerError: () => undefined });
    const { hub, sent } = fakeHub();
    const table = new StreamTable({ hub, router, logger });
    // the client only delivers once the test makes it send, by which time the tunnel exists
    const client = new SpdyClient((bytes) => tunnel.receive(bytes));
    const tunnel = new PortForwardTunnel({
      link: client.link,
      table,
      target: { nodeName: NODE, namespace: 'default', podName: 'web' },
      metrics: table.metrics,
      logger,
      ...(maxPendingUploadBytes === undefined ? {} : { maxPendingUploadBytes }),
    });
    return { client, table, sent, tunnel };
  }

  const opens = (sent: Message[]) => sent.filter((m) => m.route.operation === 'open').map((m) => m.content as { id: string; kind: string; options: { port: number } });

  it('port-forward tunnel - each requestID pair is one hub stream; a refused connection fails alone', async () => {
    const { client, sent, table } = start();
    await client.openConnection(1, 8080, 0);
    await client.openConnection(5, 8081, 1);
    await settle();
    expect(client.controls(ControlType.SynReply).map((p) => p.readUInt32BE(0))).toEqual([1, 3, 5, 7]);
    const [web, closed] = opens(sent);
    expect(web).toMatchObject({ kind: 'portforward', options: { port: 8080 } });
    expect(closed).toMatchObject({ kind: 'portforward', options: { port: 8081 } });

    await router.dispatch(fromEdge('error', { id: closed?.id, code: 502, message: 'failed to connect to 10.0.0.2:8081: connect ECONNREFUSED' }));
    expect(client.dataOn(5)).toBe('failed to connect to 10.0.0.2:8081: connect ECONNREFUSED');
    expect(client.finished(5) && client.finished(7)).toBe(true);

    // the other connection carries on, both ways, and ends cleanly
    const request = Buffer.from('GET / HTTP/1.1\r\n\r\n');
    client.deliver(dataFrame(3, 0, request));
    client.deliver(dataFrame(3, FLAG_FIN, Buffer.alloc(0)));
    await settle();
    const up = sent.filter((m) => m.route.operation === 'data').map((m) => m.content as { id: string; channel: number; data: string });
    expect(up).toEqual([
      { id: web?.id, channel: 0, data: request.toString('base64') },
      { id: web?.id, channel: 255, data: '' },
    ]);
    await router.dispatch(fromEdge('data', { id: web?.id, channel: 1, data: Buffer.from('HTTP/1.1 200 OK\r\n\r\nhi').toString('base64') }));
    await router.dispatch(fromEdge('close', { id: web?.id }));
    expect(client.dataOn(3)).toBe('HTTP/1.1 200 OK\r\n\r\nhi');
    expect(client.finished(1) && client.finished(3)).toBe(true);
    expect(client.dataOn(1)).toBe('');
    expect(client.closed).toBe(false);

    // and a new connection after all that opens as the first did
    await client.openConnection(9, 8080, 2);
    await settle();
    expect(opens(sent)).toHaveLength(3);
    expect(table.countFor(NODE)).toBe(1);
  });

  it('port-forward tunnel - our header blocks inflate completely, each ending on a flush marker', async () => {
    const { client } = start();
    await client.openConnection(1, 8080, 0);
    await settle();
    const inflate = createInflate();
    const blocks = client.controls(ControlType.SynReply).map((p) => p.subarray(4));
    expect(blocks).toHaveLength(2);
    for (const block of blocks) {
      // a reader that must not read past a frame needs the sync-flush empty block at its end
      expect(block.subarray(-5)).toEqual(Buffer.from([0, 0, 0, 0xff, 0xff]));
      const inflated = await new Promise<Buffer>((resolve) => {
        inflate.write(block);
        inflate.flush(zlibConstants.Z_SYNC_FLUSH, () => resolve((inflate.read() as Buffer | null) ?? Buffer.alloc(0)));
      });
      expect(decodeHeaderPairs(inflated).size).toBe(0);
    }
  });

  it('port-forward tunnel - reading from kubectl pauses while the edge has not written enough to the pod', async () => {
    const { client, sent } = start(16);
    await client.openConnection(1, 8080, 0);
    await settle();
    const [open] = opens(sent);
    client.deliver(dataFrame(3, 0, Buffer.alloc(10, 'a')));
    await settle();
    expect(client.paused).toBe(false);
    client.deliver(dataFrame(3, 0, Buffer.alloc(10, 'b')));
    await settle();
    expect(client.paused).toBe(true);
    // the edge wrote the first frame to the pod: 10 of 20 bytes still pending, over half the limit
    await router.dispatch(fromEdge('ack', { id: open?.id, bytes: 10 }));
    await settle();
    expect(client.paused).toBe(true);
    await router.dispatch(fromEdge('ack', { id: open?.id, bytes: 10 }));
    await settle();
    expect(client.paused).toBe(false);
  });

  it('port-forward tunnel - PING is answered with its id', async () => {
    const { client, tunnel } = start();
    const ping = Buffer.alloc(4);
    ping.writeUInt32BE(7);
    tunnel.receive(controlFrame(ControlType.Ping, 0, ping));
    await settle();
    expect(client.controls(ControlType.Ping)).toEqual([ping]);
  });

  it('port-forward tunnel - malformed streams are reset and counted; broken framing ends the session', async () => {
    const { client, table, sent, tunnel } = start();
    await client.synStream(1, [['streamtype', 'bogus'], ['port', '8080'], ['requestid', '0']]);
    await client.synStream(3, [['streamtype', 'data'], ['port', '70000'], ['requestid', '0']]);
    await client.synStream(5, [['streamtype', 'data'], ['port', '8080']]);
    await client.synStream(4, [['streamtype', 'data'], ['port', '8080'], ['requestid', '1']]);
    await settle();
    const resets = client.controls(ControlType.RstStream).map((p) => [p.readUInt32BE(0), p.readUInt32BE(4)]);
    expect(resets).toEqual([
      [1, 1],
      [3, 1],
      [5, 1],
      [4, 1],
    ]);
    expect(opens(sent)).toHaveLength(0);
    const refused = (await table.metrics.refusedFrames.get()).values;
    expect(refused).toContainEqual(expect.objectContaining({ labels: { kind: 'portforward', reason: 'bad-stream-headers' }, value: 3 }));
    expect(refused).toContainEqual(expect.objectContaining({ labels: { kind: 'portforward', reason: 'bad-stream-id' }, value: 1 }));
    expect(client.closed).toBe(false);

    // a control frame of SPDY version 2: nothing after it can be trusted
    tunnel.receive(Buffer.from([0x80, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]));
    await settle();
    expect(client.controls(ControlType.GoAway)).toHaveLength(1);
    expect(client.closed).toBe(true);
    expect((await table.metrics.refusedFrames.get()).values).toContainEqual(expect.objectContaining({ labels: { kind: 'portforward', reason: 'bad-frame' }, value: 1 }));
  });

  it('port-forward tunnel - kubectl going away cancels the open connections on the edge', async () => {
    const { client, sent, tunnel, table } = start();
    await client.openConnection(1, 8080, 0);
    await settle();
    const [open] = opens(sent);
    tunnel.linkClosed();
    expect(sent.at(-1)?.route.operation).toBe('close');
    expect((sent.at(-1)?.content as { id: string }).id).toBe(open?.id);
    expect(table.countFor(NODE)).toBe(0);
  });
});

// Batch frames on WebSocket (docs/protocol.md): each end says in the upgrade that it speaks them, a link
// uses them only when both did, and every item of one is read as if it came alone.
import type { IncomingMessage } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ProtocolError, encodeBatch, encodeMessage } from '@kedge/protocol';
import type { Message } from '@kedge/protocol';
import type { Connection } from '../src/connection';
import { dialWebSocketHub } from '../src/websocket/dial-websocket-hub';
import { BATCH_FRAMES_HEADER, BATCH_FRAMES_VERSION, MAX_BATCH_BYTES } from '../src/websocket/websocket-connection';
import { listenWebSocketHub } from '../src/websocket/websocket-hub-listener';
import { createTestCertificates } from './certificates';
import type { TestCertificates } from './certificates';
import { Cleanup, record, testMessage, waitFor } from './helpers';
import type { Recorder } from './helpers';

describe('websocket batch frames', () => {
  let certs: TestCertificates;
  const cleanup = new Cleanup();
  beforeAll(() => {
    certs = createTestCertificates();
  });
  afterAll(() => certs.cleanup());
  afterEach(() => cleanup.run());

  async function startHub(maxFrameBytes?: number): Promise<{ port: number; accepted: Recorder[] }> {
    const listener = await listenWebSocketHub({ host: '127.0.0.1', port: 0, tls: certs.server, ...(maxFrameBytes ? { limits: { maxFrameBytes } } : {}) });
    cleanup.add(() => listener.close());
    const hub = { port: listener.port, accepted: [] as Recorder[] };
    listener.onConnection((connection) => hub.accepted.push(record(connection)));
    return hub;
  }

  /** A bare ws edge that records every WebSocket message as its raw text, and the hub's 101 headers. */
  async function rawEdge(port: number, announce: boolean): Promise<{ socket: WebSocket; frames: string[]; answer: IncomingMessage }> {
    const socket = new WebSocket(`wss://127.0.0.1:${port}/project/node-a/events`, {
      cert: certs.nodeA.cert,
      key: certs.nodeA.key,
      ca: certs.ca,
      headers: announce ? { [BATCH_FRAMES_HEADER]: BATCH_FRAMES_VERSION } : {},
    });
    cleanup.add(() => socket.terminate());
    const frames: string[] = [];
    socket.on('message', (data: Buffer) => frames.push(data.toString('utf8')));
    const answer = new Promise<IncomingMessage>((resolve) => socket.once('upgrade', resolve));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return { socket, frames, answer: await answer };
  }

  const burst = (count: number): Message[] => Array.from({ length: count }, (_, i) => testMessage(i, `default/configmap/c${i}`));

  it('websocket - a burst to an edge that reads batches goes in batch frames, every message once and in order', async () => {
    const hub = await startHub();
    const edge = await rawEdge(hub.port, true);
    expect(edge.answer.headers[BATCH_FRAMES_HEADER]).toBe(BATCH_FRAMES_VERSION);
    await waitFor(() => hub.accepted.length === 1, 'the hub to accept the edge');
    const messages = burst(300);
    await Promise.all(messages.map((message) => hub.accepted[0]!.connection.send(message)));
    const received = (): unknown[] => edge.frames.flatMap((frame) => (frame.startsWith('[') ? (JSON.parse(frame) as Message[]) : [JSON.parse(frame) as Message])).map((m) => m.content);
    await waitFor(() => received().length === 300, 'all 300 messages');
    expect(received()).toEqual(messages.map((m) => m.content));
    expect(edge.frames.length).toBeLessThan(300);
    expect(edge.frames.some((frame) => frame.startsWith('['))).toBe(true);
    expect(Math.max(...edge.frames.map((frame) => Buffer.byteLength(frame)))).toBeLessThanOrEqual(MAX_BATCH_BYTES);
  });

  it('websocket - an edge that did not say it reads batches only ever gets one message per frame', async () => {
    const hub = await startHub();
    const edge = await rawEdge(hub.port, false);
    await waitFor(() => hub.accepted.length === 1, 'the hub to accept the edge');
    const messages = burst(200);
    await Promise.all(messages.map((message) => hub.accepted[0]!.connection.send(message)));
    await waitFor(() => edge.frames.length === 200, 'all 200 frames');
    expect(edge.frames.every((frame) => frame.startsWith('{'))).toBe(true);
    expect(edge.frames.map((frame) => (JSON.parse(frame) as Message).content)).toEqual(messages.map((m) => m.content));
  });

  it('websocket - an array from an edge that did not announce batch frames is one bad frame, as before', async () => {
    const hub = await startHub();
    const edge = await rawEdge(hub.port, false);
    expect(edge.answer.headers[BATCH_FRAMES_HEADER]).toBe(BATCH_FRAMES_VERSION);
    await waitFor(() => hub.accepted.length === 1, 'the hub to accept the edge');
    const server = hub.accepted[0]!;
    edge.socket.send(encodeBatch([encodeMessage(testMessage('a')), encodeMessage(testMessage('b'))]));
    edge.socket.send(encodeMessage(testMessage('after')));
    await waitFor(() => server.messages.length === 1, 'the plain message after the array');
    expect(server.badFrames.map((error) => (error as ProtocolError).code)).toEqual(['NOT_AN_OBJECT']);
    expect(server.messages.map((m) => m.content)).toEqual(['after']);
  });

  it('websocket - both ends of kedge links batch, and each side gets every message in order', async () => {
    const hub = await startHub();
    const edge: Connection = await dialWebSocketHub({ url: `wss://127.0.0.1:${hub.port}`, tls: certs.nodeA, nodeName: 'node-a', handshakeTimeoutMs: 5_000 });
    cleanup.add(() => edge.close());
    const atEdge = record(edge);
    await waitFor(() => hub.accepted.length === 1, 'the hub to accept the edge');
    const up = burst(250);
    const down = burst(250);
    await Promise.all([...up.map((m) => edge.send(m)), ...down.map((m) => hub.accepted[0]!.connection.send(m))]);
    await waitFor(() => hub.accepted[0]!.messages.length === 250 && atEdge.messages.length === 250, 'both bursts');
    expect(hub.accepted[0]!.messages.map((m) => m.header.msg_id)).toEqual(up.map((m) => m.header.msg_id));
    expect(atEdge.messages.map((m) => m.header.msg_id)).toEqual(down.map((m) => m.header.msg_id));
    expect([...hub.accepted[0]!.badFrames, ...atEdge.badFrames]).toEqual([]);
  });

  it('attack - a bad item inside a batch frame is refused as a badFrame naming the item, and the other items arrive', async () => {
    const hub = await startHub();
    const edge = await rawEdge(hub.port, true);
    await waitFor(() => hub.accepted.length === 1, 'the hub to accept the edge');
    const server = hub.accepted[0]!;
    const [first, second] = [testMessage('first'), testMessage('second')];
    const forged = JSON.stringify({ ...JSON.parse(encodeMessage(testMessage('forged'))), route: { source: 'x', group: 'resource', operation: 'update', resource: 'default/pod/a\u0000' } });
    edge.socket.send(encodeBatch([encodeMessage(first), forged, '{"__proto__":{"admin":true}}', encodeMessage(second)]));
    await waitFor(() => server.messages.length === 2 && server.badFrames.length === 2, 'two messages and two bad frames');
    expect(server.messages.map((m) => m.content)).toEqual(['first', 'second']);
    const [badResource, polluted] = server.badFrames as ProtocolError[];
    expect(badResource).toBeInstanceOf(ProtocolError);
    expect({ code: badResource!.code, field: badResource!.field }).toEqual({ code: 'INVALID_FIELD', field: 'route.resource' });
    expect(badResource!.message).toMatch(/^batch frame item 1 of 4: frame field "route.resource"/);
    expect({ code: polluted!.code, field: polluted!.field }).toEqual({ code: 'FORBIDDEN_KEY', field: '__proto__' });
    expect(server.connection.closed).toBe(false);
  });

  it('websocket - a hub whose frame limit cannot take a batch does not say it reads batches, and refuses them', async () => {
    const hub = await startHub(MAX_BATCH_BYTES - 1);
    const edge = await rawEdge(hub.port, true);
    expect(edge.answer.headers[BATCH_FRAMES_HEADER]).toBeUndefined();
    await waitFor(() => hub.accepted.length === 1, 'the hub to accept the edge');
    const server = hub.accepted[0]!;
    edge.socket.send(encodeBatch([encodeMessage(testMessage('a')), encodeMessage(testMessage('b'))]));
    await waitFor(() => server.badFrames.length === 1, 'the batch refused');
    expect((server.badFrames[0] as ProtocolError).code).toBe('NOT_AN_OBJECT');
  });
});

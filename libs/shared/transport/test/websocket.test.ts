import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ProtocolError, encodeMessage } from '@kedge/protocol';
import type { Connection, TlsMaterial } from '../src/connection';
import { DialError } from '../src/errors';
import type { Refusal } from '../src/listener-handlers';
import { dialWebSocketHub } from '../src/websocket/dial-websocket-hub';
import { listenWebSocketHub } from '../src/websocket/websocket-hub-listener';
import { createTestCertificates } from './certificates';
import type { TestCertificates } from './certificates';
import { Cleanup, record, testMessage, waitFor } from './helpers';
import type { Recorder } from './helpers';

describe('websocket transport', () => {
  let certs: TestCertificates;
  const cleanup = new Cleanup();
  beforeAll(() => {
    certs = createTestCertificates();
  });
  afterAll(() => certs.cleanup());
  afterEach(() => cleanup.run());

  async function startHub(maxFrameBytes?: number): Promise<{ port: number; accepted: Recorder[]; refusals: Refusal[] }> {
    const listener = await listenWebSocketHub({
      host: '127.0.0.1',
      port: 0,
      tls: certs.server,
      ...(maxFrameBytes !== undefined ? { limits: { maxFrameBytes } } : {}),
    });
    cleanup.add(() => listener.close());
    const hub = { port: listener.port, accepted: [] as Recorder[], refusals: [] as Refusal[] };
    listener.onConnection((connection) => hub.accepted.push(record(connection)));
    listener.onRefused((refusal) => hub.refusals.push(refusal));
    return hub;
  }

  /** A bare ws client, for frames our own dialer would never send. */
  async function rawClient(port: number, path = '/project/node-a/events', tls: TlsMaterial = certs.nodeA): Promise<WebSocket> {
    const socket = new WebSocket(`wss://127.0.0.1:${port}${path}`, { cert: tls.cert, key: tls.key, ca: tls.ca });
    cleanup.add(() => {
      socket.terminate();
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return socket;
  }

  it('websocket - a certificate for node-a claiming node-b in the URL is refused with 403', async () => {
    const hub = await startHub();
    const dialing = dialWebSocketHub({ url: `wss://127.0.0.1:${hub.port}`, tls: certs.nodeA, nodeName: 'node-b', handshakeTimeoutMs: 5_000 });
    await expect(dialing).rejects.toThrow(/HTTP 403 Forbidden: certificate is for node "node-a" but the path names node "node-b"/);
    await expect(dialing).rejects.toBeInstanceOf(DialError);
    await waitFor(() => hub.refusals.length === 1, 'the refusal');
    expect(hub.refusals[0]?.reason).toMatch(/^HTTP 403: certificate is for node "node-a" but the path names node "node-b"/);
    expect(hub.refusals[0]?.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(hub.accepted).toEqual([]);
  });

  it('websocket - a node_id header that differs from the certificate is refused with 403', async () => {
    const hub = await startHub();
    const dialing = dialWebSocketHub({
      url: `wss://127.0.0.1:${hub.port}/project/node-a/events`,
      tls: certs.nodeA,
      nodeName: 'node-b',
      handshakeTimeoutMs: 5_000,
    });
    await expect(dialing).rejects.toThrow(/HTTP 403/);
    await waitFor(() => hub.refusals.length === 1, 'the refusal');
    expect(hub.refusals[0]?.reason).toContain('node_id header');
    expect(hub.accepted).toEqual([]);
  });

  it('websocket - a path that is not /<project>/<node>/events is refused with 404', async () => {
    const hub = await startHub();
    await expect(rawClient(hub.port, '/node-a')).rejects.toThrow(/404/);
    await waitFor(() => hub.refusals.length === 1, 'the refusal');
    expect(hub.accepted).toEqual([]);
  });

  it('websocket - a plain HTTPS request is answered 426 and reported', async () => {
    const hub = await startHub();
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: hub.port, path: '/', cert: certs.nodeA.cert, key: certs.nodeA.key, ca: certs.ca }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(426);
    await waitFor(() => hub.refusals.length === 1, 'the refusal');
  });

  it('websocket - a garbage text frame is a badFrame and the link stays usable', async () => {
    const hub = await startHub();
    const client = await rawClient(hub.port);
    await waitFor(() => hub.accepted.length === 1, 'the hub to accept the edge');
    const server = hub.accepted[0] as Recorder;

    client.send(randomBytes(300), { binary: false });
    client.send('{"header": 1}', { binary: false });
    client.send('not json at all', { binary: false });
    await waitFor(() => server.badFrames.length === 3, 'three bad frames');
    expect(server.badFrames.every((error) => error instanceof ProtocolError)).toBe(true);
    expect((server.badFrames[0] as ProtocolError).code).toBe('NOT_UTF8');

    client.send(encodeMessage(testMessage('still here')));
    await waitFor(() => server.messages.length === 1, 'the valid message after the garbage');
    expect(server.messages[0]?.content).toBe('still here');
    expect(server.connection.closed).toBe(false);
  });

  it('websocket - a binary frame is refused as badFrame and the link stays usable', async () => {
    const hub = await startHub();
    const client = await rawClient(hub.port);
    await waitFor(() => hub.accepted.length === 1, 'the hub to accept the edge');
    const server = hub.accepted[0] as Recorder;

    client.send(Buffer.from(encodeMessage(testMessage('as binary'))), { binary: true });
    await waitFor(() => server.badFrames.length === 1, 'the binary frame to be refused');
    expect((server.badFrames[0] as ProtocolError).code).toBe('INVALID_FRAME');
    client.send(encodeMessage(testMessage('as text')));
    await waitFor(() => server.messages.length === 1, 'the text frame');
  });

  it('websocket - a frame over twice maxFrameBytes closes the link with 1009 after a badFrame', async () => {
    const hub = await startHub(1024);
    const client = await rawClient(hub.port);
    await waitFor(() => hub.accepted.length === 1, 'the hub to accept the edge');
    const server = hub.accepted[0] as Recorder;
    const closeCode = new Promise<number>((resolve) => client.once('close', resolve));

    client.send('z'.repeat(4096));
    expect(await closeCode).toBe(1009);
    await waitFor(() => server.closes.length === 1, 'the hub side to close');
    expect((server.badFrames[0] as ProtocolError).code).toBe('FRAME_TOO_LARGE');
  });

  it('websocket - an edge that goes silent is closed after the idle timeout', async () => {
    const listener = await listenWebSocketHub({
      host: '127.0.0.1',
      port: 0,
      tls: certs.server,
      keepaliveIntervalMs: 50,
      idleTimeoutMs: 200,
    });
    cleanup.add(() => listener.close());
    const accepted: Recorder[] = [];
    listener.onConnection((connection: Connection) => accepted.push(record(connection)));
    const client = await rawClient(listener.port);
    await waitFor(() => accepted.length === 1, 'the hub to accept the edge');
    // a paused client neither reads pings nor answers them: a dead peer, as far as the hub can tell
    client.pause();
    await waitFor(() => accepted[0]?.closes.length === 1, 'the idle timeout');
    expect(accepted[0]?.closes[0]?.reason).toMatch(/^idle timeout/);
  });

  /** A hub and a raw client that only answers pings (ws does that by itself); resolves once `pings` pings came. */
  async function answerPingsOnly(timing: { keepaliveIntervalMs: number; idleTimeoutMs: number }, pings: number): Promise<Recorder | undefined> {
    const listener = await listenWebSocketHub({ host: '127.0.0.1', port: 0, tls: certs.server, ...timing });
    cleanup.add(() => listener.close());
    const accepted: Recorder[] = [];
    listener.onConnection((connection: Connection) => accepted.push(record(connection)));
    const client = await rawClient(listener.port);
    let heard = 0;
    client.on('ping', () => (heard += 1));
    await waitFor(() => heard >= pings, `${pings} pings, many idle timeouts long`, { timeoutMs: 30_000 });
    return accepted[0];
  }

  it('websocket - a live edge that only answers pings is kept past the idle timeout', async () => {
    expect((await answerPingsOnly({ keepaliveIntervalMs: 50, idleTimeoutMs: 200 }, 10))?.closes).toEqual([]);
  });

  it('websocket - with the default ratio (idle timeout two intervals) a peer that only answers pings is kept', async () => {
    // a pong on loopback often comes back within the millisecond of its ping: it must still count as an answer
    expect((await answerPingsOnly({ keepaliveIntervalMs: 100, idleTimeoutMs: 200 }, 8))?.closes).toEqual([]);
  });

  it('websocket - a peer heard from all the time is not pinged (idle hubs spend no TLS record on it)', async () => {
    const listener = await listenWebSocketHub({ host: '127.0.0.1', port: 0, tls: certs.server, keepaliveIntervalMs: 500, idleTimeoutMs: 2_000 });
    cleanup.add(() => listener.close());
    const accepted: Recorder[] = [];
    listener.onConnection((connection: Connection) => accepted.push(record(connection)));
    const client = await rawClient(listener.port);
    let serverPings = 0;
    client.on('ping', () => (serverPings += 1));
    let clientPings = 0;
    const talker = setInterval(() => {
      client.ping();
      clientPings += 1;
    }, 25);
    cleanup.add(() => clearInterval(talker));
    // 200 pings of ours span about ten of the hub's probe intervals
    await waitFor(() => clientPings >= 200, 'the edge to talk for about ten probe intervals', { timeoutMs: 60_000 });
    clearInterval(talker);
    // without the check the hub pings at every probe (about ten); a stalled timer on a loaded machine may let one or two through
    expect(serverPings).toBeLessThanOrEqual(2);
    // and once the edge falls silent it is probed again
    await waitFor(() => serverPings >= 3, 'the hub to ping the now silent edge', { timeoutMs: 30_000 });
    expect(accepted[0]?.closes).toEqual([]);
  });
});

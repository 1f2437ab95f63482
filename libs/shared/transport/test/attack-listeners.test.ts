// Threat suite for the hub listeners: what a hostile host on the network can do before it is a node
// (floods of connections, slow handshakes) and what a node can do with one frame (oversize). Real
// sockets on loopback; 127.0.0.2.. are other hosts (Linux routes all of 127/8 to lo).
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { requires } from '@kedge/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ProtocolError } from '@kedge/protocol';
import type { LinkLimits, TransportKind } from '../src/connection';
import type { ConnectionLimits } from '../src/connection-gate';
import { dialHub, listenHub } from '../src/hub';
import { requireQuic } from '../src/quic/load-quic';
import { connectionIdCrypto } from '../src/quic/quic-tls';
import type { Refusal } from '../src/listener-handlers';
import { createTestCertificates } from './certificates';
import type { TestCertificates } from './certificates';
import { Cleanup, record, testMessage, waitFor } from './helpers';
import type { Recorder } from './helpers';

const quic = await requires('quic');

interface Hub {
  port: number;
  accepted: Recorder[];
  refusals: Refusal[];
}

/** resolves true if the socket was closed by the server within `ms` */
function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) {
      resolve(true);
      return;
    }
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function openTcp(port: number, localAddress: string, cleanup: Cleanup): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port, localAddress });
    socket.on('error', () => undefined);
    cleanup.add(() => {
      socket.destroy();
    });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('threat - hub listeners', () => {
  let certs: TestCertificates;
  const cleanup = new Cleanup();
  beforeAll(() => {
    certs = createTestCertificates();
  });
  afterAll(() => certs.cleanup());
  afterEach(() => cleanup.run());

  async function startHub(
    kind: TransportKind,
    options: { connectionLimits?: Partial<ConnectionLimits>; handshakeTimeoutMs?: number; limits?: Partial<LinkLimits> } = {},
  ): Promise<Hub> {
    const listener = await listenHub(kind, { host: '127.0.0.1', port: 0, tls: certs.server, ...options });
    cleanup.add(() => listener.close());
    const hub: Hub = { port: listener.port, accepted: [], refusals: [] };
    listener.onConnection((connection) => hub.accepted.push(record(connection)));
    listener.onRefused((refusal) => hub.refusals.push(refusal));
    return hub;
  }

  async function wsFrom(hub: Hub, localAddress: string, node: 'nodeA' | 'nodeB' = 'nodeA'): Promise<WebSocket> {
    const tls = certs[node];
    const socket = new WebSocket(`wss://127.0.0.1:${hub.port}/project/${node === 'nodeA' ? 'node-a' : 'node-b'}/events`, {
      cert: tls.cert,
      key: tls.key,
      ca: tls.ca,
      localAddress,
    });
    cleanup.add(() => socket.terminate());
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return socket;
  }

  it('attack - a per-IP connection flood on the WebSocket hub is refused beyond the limit while another IP still connects', async () => {
    const hub = await startHub('websocket', { connectionLimits: { maxConnectionsPerIp: 4 } });
    const flood = await Promise.all(Array.from({ length: 12 }, () => openTcp(hub.port, '127.0.0.2', cleanup)));
    const cut = await Promise.all(flood.map((socket) => closedWithin(socket, 1_000)));
    // the first four hold their slots (silent, mid-handshake); the other eight are cut at once
    expect(cut.filter(Boolean)).toHaveLength(8);
    await waitFor(() => hub.refusals.filter((r) => r.category === 'per-ip-connections').length === 8, 'eight per-IP refusals');
    expect(hub.refusals[0]?.reason).toMatch(/127\.0\.0\.2 already has 4 connections open/);

    // an edge on another host is not affected
    const edge = await wsFrom(hub, '127.0.0.3');
    await waitFor(() => hub.accepted.length === 1, 'the edge on another IP to be accepted');
    expect(edge.readyState).toBe(WebSocket.OPEN);
  });

  it('attack - new connections faster than the per-IP rate are refused on the WebSocket hub', async () => {
    const hub = await startHub('websocket', { connectionLimits: { newConnectionsPerIpPerSecond: 1, newConnectionsBurstPerIp: 3 } });
    const flood = await Promise.all(Array.from({ length: 10 }, () => openTcp(hub.port, '127.0.0.4', cleanup)));
    const cut = await Promise.all(flood.map((socket) => closedWithin(socket, 500)));
    expect(cut.filter(Boolean).length).toBeGreaterThanOrEqual(6);
    expect(hub.refusals.some((r) => r.category === 'per-ip-rate')).toBe(true);
    await wsFrom(hub, '127.0.0.5');
    await waitFor(() => hub.accepted.length === 1, 'the edge on another IP to be accepted');
  });

  it('attack - a TCP connection that never starts TLS is cut at the WebSocket hub handshake timeout', async () => {
    const hub = await startHub('websocket', { handshakeTimeoutMs: 500 });
    const silent = await openTcp(hub.port, '127.0.0.6', cleanup);
    const started = Date.now();
    expect(await closedWithin(silent, 5_000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(3_000);
    await waitFor(() => hub.refusals.some((r) => r.category === 'handshake-timeout'), 'the handshake timeout refusal');
  });

  it('attack - a slowloris that finishes TLS and trickles its upgrade request is cut at the WebSocket hub handshake timeout', async () => {
    const hub = await startHub('websocket', { handshakeTimeoutMs: 500 });
    const tcp = await openTcp(hub.port, '127.0.0.7', cleanup);
    const socket = tlsConnect({ socket: tcp, servername: 'localhost', cert: certs.nodeA.cert, key: certs.nodeA.key, ca: certs.ca });
    socket.on('error', () => undefined);
    cleanup.add(() => {
      socket.destroy();
    });
    await new Promise<void>((resolve) => socket.once('secureConnect', resolve));
    const started = Date.now();
    // one header line every 200 ms, never the blank line that ends the request
    socket.write('GET /project/node-a/events HTTP/1.1\r\n');
    const trickle = setInterval(() => socket.writable && socket.write(`X-Slow-${Date.now()}: 1\r\n`), 200);
    cleanup.add(() => clearInterval(trickle));
    expect(await closedWithin(socket, 5_000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(3_000);
    await waitFor(() => hub.refusals.some((r) => r.category === 'handshake-timeout'), 'the handshake timeout refusal');
    expect(hub.accepted).toEqual([]);
  });

  it('attack - a WebSocket frame over maxFrameBytes is refused, and one over twice that closes the link', async () => {
    const hub = await startHub('websocket', { limits: { maxFrameBytes: 1024 } });
    const edge = await wsFrom(hub, '127.0.0.8');
    await waitFor(() => hub.accepted.length === 1, 'the edge');
    const server = hub.accepted[0] as Recorder;
    edge.send('y'.repeat(1500));
    await waitFor(() => server.badFrames.length === 1, 'the oversized frame refused');
    expect((server.badFrames[0] as ProtocolError).code).toBe('FRAME_TOO_LARGE');
    const closeCode = new Promise<number>((resolve) => edge.once('close', resolve));
    edge.send('z'.repeat(4096));
    expect(await closeCode).toBe(1009);
    expect(server.messages).toEqual([]);
  });

  quic.it('attack - a QUIC frame whose length prefix is over maxFrameBytes is refused and the link closed before it is buffered', async () => {
    const hub = await startHub('quic', { limits: { maxFrameBytes: 1024 } });
    // an edge that ignores the limit: its own maxFrameBytes is far larger than the hub's
    const edge = record(
      await dialHub('quic', { url: `quic://127.0.0.1:${hub.port}`, tls: certs.nodeA, nodeName: 'node-a', handshakeTimeoutMs: 5_000, limits: { maxFrameBytes: 64 * 1024 * 1024 } }),
    );
    cleanup.add(() => edge.connection.close());
    await waitFor(() => hub.accepted.length === 1, 'the edge');
    const server = hub.accepted[0] as Recorder;
    // the hub cuts the link after the 4-byte header, so the rest of the send fails: that is the point
    await edge.connection.send(testMessage('q'.repeat(1024 * 1024))).catch(() => undefined);
    await waitFor(() => server.badFrames.length === 1, 'the oversized frame refused');
    expect((server.badFrames[0] as ProtocolError).code).toBe('FRAME_TOO_LARGE');
    await waitFor(() => edge.closes.length === 1, 'the link closed');
    expect(server.messages).toEqual([]);
  });

  quic.it('attack - a per-IP connection flood on the QUIC hub is refused beyond the limit while another IP still connects', async () => {
    const hub = await startHub('quic', { connectionLimits: { maxConnectionsPerIp: 2 } });
    const dial = (nodeName: string, localAddress: string) =>
      dialHub('quic', {
        url: `quic://127.0.0.1:${hub.port}`,
        tls: nodeName === 'node-a' ? certs.nodeA : certs.nodeB,
        nodeName,
        localAddress,
        handshakeTimeoutMs: 1_500,
      }).then((connection) => {
        cleanup.add(() => connection.close());
        return connection;
      });
    await dial('node-a', '127.0.0.9');
    await dial('node-b', '127.0.0.9');
    await expect(dial('node-a', '127.0.0.9')).rejects.toThrow();
    expect(hub.refusals.some((r) => r.category === 'per-ip-connections')).toBe(true);
    await dial('node-a', '127.0.0.10');
    await waitFor(() => hub.accepted.length === 3, 'the edge on another IP to be accepted');
  });

  quic.it('attack - a QUIC edge that finishes TLS but opens no stream is cut at the handshake timeout', async () => {
    const hub = await startHub('quic', { handshakeTimeoutMs: 500 });
    const runtime = await requireQuic();
    // a raw client: the handshake completes, then silence
    const client = await runtime.quic.QUICClient.createQUICClient({
      host: '127.0.0.1',
      port: hub.port,
      crypto: connectionIdCrypto,
      config: { cert: certs.nodeA.cert, key: certs.nodeA.key, ca: certs.ca, verifyPeer: false, applicationProtos: ['kedge-hub'] },
      logger: runtime.logger,
    });
    cleanup.add(() => client.destroy({ force: true }).catch(() => undefined));
    await waitFor(() => hub.refusals.some((r) => r.category === 'handshake-timeout'), 'the handshake timeout refusal', { timeoutMs: 5_000 });
    expect(hub.accepted).toEqual([]);
  });
});

// WebTransport-specific behaviour and attacks on its hub: the defences that the library alone would
// not give (client certificates, ALPN, per-IP limits, handshake deadline) and the oversize frame.
import { connect as http2Connect } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ProtocolError } from '@kedge/protocol';
import type { LinkLimits, TlsMaterial } from '../src/connection';
import type { ConnectionLimits } from '../src/connection-gate';
import { dialHub, listenHub } from '../src/hub';
import type { Refusal } from '../src/listener-handlers';
import { WEBTRANSPORT_HUB_PATH } from '../src/webtransport/webtransport-hub-listener';
import { webTransportHubAddress } from '../src/webtransport/dial-webtransport-hub';
import { createTestCertificates } from './certificates';
import type { TestCertificates } from './certificates';
import { Cleanup, record, testMessage, waitFor } from './helpers';
import type { Recorder } from './helpers';

interface Hub {
  port: number;
  accepted: Recorder[];
  refusals: Refusal[];
}

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

describe('webtransport hub', () => {
  let certs: TestCertificates;
  const cleanup = new Cleanup();
  beforeAll(() => {
    certs = createTestCertificates();
  });
  afterAll(() => certs.cleanup());
  afterEach(() => cleanup.run());

  async function startHub(
    options: { connectionLimits?: Partial<ConnectionLimits>; handshakeTimeoutMs?: number; limits?: Partial<LinkLimits> } = {},
  ): Promise<Hub> {
    const listener = await listenHub('webtransport', { host: '127.0.0.1', port: 0, tls: certs.server, ...options });
    cleanup.add(() => listener.close());
    const hub: Hub = { port: listener.port, accepted: [], refusals: [] };
    listener.onConnection((connection) => hub.accepted.push(record(connection)));
    listener.onRefused((refusal) => hub.refusals.push(refusal));
    return hub;
  }

  /** A raw HTTP/2 client asking for a WebTransport session, outside our dialer: what an attacker would send. */
  function rawConnectRequest(hub: Hub, tls: Partial<TlsMaterial>): Promise<string> {
    return new Promise((resolve) => {
      // a refused client may never hear why (a TLS 1.3 client finishes before the server judges it)
      setTimeout(() => resolve('no answer'), 3_000).unref();
      const client = http2Connect(`https://127.0.0.1:${hub.port}`, {
        ca: tls.ca,
        ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}),
        settings: { enableConnectProtocol: true },
      });
      cleanup.add(() => {
        client.destroy();
      });
      client.on('error', (error) => resolve(`error: ${error.message}`));
      client.on('remoteSettings', () => {
        const request = client.request({ ':method': 'CONNECT', ':protocol': 'webtransport', ':scheme': 'https', ':path': WEBTRANSPORT_HUB_PATH });
        request.on('response', (headers) => resolve(`status ${String(headers[':status'])}`));
        request.on('error', (error) => resolve(`error: ${error.message}`));
        request.on('close', () => resolve('closed'));
      });
      client.on('close', () => resolve('closed'));
    });
  }

  it('webtransport - the URL is https://host:port and the session path defaults to the hub path', () => {
    expect(webTransportHubAddress('https://cloud.example:10003')).toEqual({ host: 'cloud.example', port: 10003, sessionUrl: `https://cloud.example:10003${WEBTRANSPORT_HUB_PATH}` });
    expect(() => webTransportHubAddress('wss://cloud.example:10003')).toThrow(/https:\/\/host:port/);
    expect(() => webTransportHubAddress('https://cloud.example')).toThrow(/https:\/\/host:port/);
  });

  it('webtransport - 100 messages of 1 KiB echo on one stream (the library stall this transport works around)', async () => {
    const hub = await startHub();
    const client = record(await dialHub('webtransport', { url: `https://127.0.0.1:${hub.port}`, tls: certs.nodeA, nodeName: 'node-a', handshakeTimeoutMs: 5_000 }));
    await waitFor(() => hub.accepted.length === 1, 'the hub to accept the edge');
    const server = hub.accepted[0] as Recorder;
    server.connection.on('message', (message) => void server.connection.send(message));
    const body = 'k'.repeat(1024);
    for (let i = 0; i < 100; i += 1) await client.connection.send(testMessage({ i, body }));
    await waitFor(() => client.messages.length === 100, '100 echoes');
    expect(client.messages.map((message) => (message.content as { i: number }).i)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('attack - a raw HTTP/2 client without a certificate gets no WebTransport session', async () => {
    const hub = await startHub();
    const outcome = await rawConnectRequest(hub, { ca: certs.ca });
    expect(outcome).not.toMatch(/^status/);
    await waitFor(() => hub.refusals.length === 1, 'the refusal');
    expect(hub.refusals[0]?.category).toBe('tls-handshake');
    expect(hub.refusals[0]?.reason).toMatch(/certificate/i);
    expect(hub.accepted).toEqual([]);
  }, 15_000);

  it('attack - a raw HTTP/2 client with a certificate of another CA gets no WebTransport session', async () => {
    const hub = await startHub();
    const outcome = await rawConnectRequest(hub, certs.foreignNodeA);
    expect(outcome).not.toMatch(/^status/);
    await waitFor(() => hub.refusals.length === 1, 'the refusal');
    expect(hub.refusals[0]?.reason).toMatch(/certificate|unknown/i);
    expect(hub.accepted).toEqual([]);
  });

  it('attack - an authenticated client without ALPN h2 is cut before the library can answer it over HTTP/1.1', async () => {
    const hub = await startHub();
    const socket: TLSSocket = tlsConnect({ host: '127.0.0.1', port: hub.port, ca: certs.ca, cert: certs.nodeA.cert, key: certs.nodeA.key, checkServerIdentity: () => undefined });
    socket.on('error', () => undefined);
    cleanup.add(() => {
      socket.destroy();
    });
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
    // the library's server would take a WebSocket-style upgrade over HTTP/1.1 (allowHTTP1)
    socket.write(`GET ${WEBTRANSPORT_HUB_PATH} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: webtransport_h2\r\n\r\n`);
    expect(await closedWithin(socket, 2_000)).toBe(true);
    await waitFor(() => hub.refusals.length === 1, 'the refusal');
    expect(hub.refusals[0]).toMatchObject({ category: 'request', reason: expect.stringMatching(/ALPN/) });
  });

  it('attack - an authenticated client that opens no session is cut at the handshake timeout', async () => {
    const hub = await startHub({ handshakeTimeoutMs: 500 });
    const client = http2Connect(`https://127.0.0.1:${hub.port}`, { ca: certs.ca, cert: certs.nodeA.cert, key: certs.nodeA.key });
    client.on('error', () => undefined);
    cleanup.add(() => {
      client.destroy();
    });
    await waitFor(() => client.closed || client.destroyed, 'the hub to cut the idle connection');
    expect(hub.refusals[0]).toMatchObject({ category: 'handshake-timeout' });
    expect(hub.accepted).toEqual([]);
  });

  it('attack - a per-IP connection flood on the WebTransport hub is refused beyond the limit while another IP still connects', async () => {
    const hub = await startHub({ connectionLimits: { maxConnectionsPerIp: 3 } });
    const flood = await Promise.all(
      Array.from(
        { length: 8 },
        () =>
          new Promise<Socket>((resolve) => {
            const socket = netConnect({ host: '127.0.0.1', port: hub.port, localAddress: '127.0.0.2' });
            socket.on('error', () => undefined);
            cleanup.add(() => {
              socket.destroy();
            });
            socket.once('connect', () => resolve(socket));
          }),
      ),
    );
    const cut = await Promise.all(flood.map((socket) => closedWithin(socket, 1_000)));
    expect(cut.filter(Boolean)).toHaveLength(5);
    await waitFor(() => hub.refusals.filter((r) => r.category === 'per-ip-connections').length === 5, 'five per-IP refusals');
    await dialHub('webtransport', { url: `https://127.0.0.1:${hub.port}`, tls: certs.nodeA, nodeName: 'node-a', handshakeTimeoutMs: 5_000, localAddress: '127.0.0.3' });
    await waitFor(() => hub.accepted.length === 1, 'the edge on another IP');
  });

  it('attack - a frame whose length prefix is over maxFrameBytes closes the session, counted as badFrame, before it is buffered', async () => {
    const hub = await startHub({ limits: { maxFrameBytes: 1024 } });
    const client = record(
      await dialHub('webtransport', { url: `https://127.0.0.1:${hub.port}`, tls: certs.nodeA, nodeName: 'node-a', handshakeTimeoutMs: 5_000, limits: { maxFrameBytes: 64 * 1024 * 1024 } }),
    );
    await waitFor(() => hub.accepted.length === 1, 'the hub to accept the edge');
    const server = hub.accepted[0] as Recorder;
    // 32 MiB declared; the hub must refuse on the 4-byte header, long before the body could arrive
    void client.connection.send(testMessage('z'.repeat(32 * 1024 * 1024))).catch(() => undefined);
    await waitFor(() => server.badFrames.length === 1, 'the oversize frame to be refused');
    expect((server.badFrames[0] as ProtocolError).code).toBe('FRAME_TOO_LARGE');
    await waitFor(() => client.closes.length === 1, 'the edge to see the session closed');
    expect(server.closes[0]?.reason).toMatch(/protocol violation/);
    expect(server.messages).toEqual([]);
  });
});

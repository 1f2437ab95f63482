// One behavioural contract for every transport: whatever carries the link, hubs see the same thing.
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Requirement } from '@kedge/testkit';
import { ProtocolError } from '@kedge/protocol';
import type { Message } from '@kedge/protocol';
import type { Connection, HubListener, LinkLimits, TlsMaterial, TransportKind } from '../src/connection';
import { ConnectionClosedError, DialError } from '../src/errors';
import { dialHub, listenHub } from '../src/hub';
import type { Refusal } from '../src/listener-handlers';
import { createTestCertificates } from './certificates';
import type { TestCertificates } from './certificates';
import { Cleanup, record, testMessage, waitFor } from './helpers';
import type { Recorder } from './helpers';

interface Hub {
  listener: HubListener;
  port: number;
  accepted: Recorder[];
  refusals: Refusal[];
}

function contentsOf(messages: Message[]): unknown[] {
  return messages.map((message) => message.content);
}

/** Runs the transport contract against `kind`, when what it `needs` is here (see requires() in @kedge/testkit). */
export function describeConformance(kind: TransportKind, needs: Requirement): void {
  needs.describe(`${kind} conformance`, () => {
    let certs: TestCertificates;
    const cleanup = new Cleanup();

    beforeAll(() => {
      certs = createTestCertificates();
    });
    afterAll(() => certs.cleanup());
    afterEach(() => cleanup.run());

    async function startHub(limits?: Partial<LinkLimits>): Promise<Hub> {
      const listener = await listenHub(kind, { host: '127.0.0.1', port: 0, tls: certs.server, limits });
      cleanup.add(() => listener.close());
      const hub: Hub = { listener, port: listener.port, accepted: [], refusals: [] };
      listener.onConnection((connection) => hub.accepted.push(record(connection)));
      listener.onRefused((refusal) => hub.refusals.push(refusal));
      return hub;
    }

    async function dial(hub: Hub, tls: TlsMaterial = certs.nodeA, nodeName = 'node-a', limits?: Partial<LinkLimits>): Promise<Connection> {
      const scheme = { websocket: 'wss', quic: 'quic', webtransport: 'https' }[kind];
      const connection = await dialHub(kind, {
        url: `${scheme}://127.0.0.1:${hub.port}`,
        tls,
        nodeName,
        handshakeTimeoutMs: 5_000,
        limits,
      });
      cleanup.add(() => connection.close());
      return connection;
    }

    /** A dial that must not become a connection: rejected, with the refusal reported by the hub. */
    async function expectRefused(hub: Hub, tls: TlsMaterial, nodeName: string): Promise<Refusal> {
      await expect(dial(hub, tls, nodeName)).rejects.toBeInstanceOf(DialError);
      await waitFor(() => hub.refusals.length > 0, 'the hub to report the refusal');
      expect(hub.accepted).toHaveLength(0);
      expect(hub.refusals).toHaveLength(1);
      return hub.refusals[0] as Refusal;
    }

    it(`${kind} - messages flow both ways in order`, async () => {
      const hub = await startHub();
      const client = record(await dial(hub));
      await waitFor(() => hub.accepted.length === 1, 'the hub to accept the edge');
      const server = hub.accepted[0] as Recorder;

      for (let i = 0; i < 10; i += 1) await client.connection.send(testMessage({ up: i }));
      for (let i = 0; i < 10; i += 1) await server.connection.send(testMessage({ down: i }));

      await waitFor(() => server.messages.length === 10 && client.messages.length === 10, 'ten messages each way');
      expect(contentsOf(server.messages)).toEqual(Array.from({ length: 10 }, (_, i) => ({ up: i })));
      expect(contentsOf(client.messages)).toEqual(Array.from({ length: 10 }, (_, i) => ({ down: i })));
      expect(server.badFrames).toEqual([]);
    });

    it(`${kind} - the hub takes the node name from the verified client certificate`, async () => {
      const hub = await startHub();
      const client = await dial(hub, certs.nodeB, 'node-b');
      await waitFor(() => hub.accepted.length === 1, 'the hub to accept the edge');
      const server = (hub.accepted[0] as Recorder).connection;
      expect(server.kind).toBe(kind);
      // with the certificate's serial and notBefore, for the hub's revocation check
      expect(server.peer).toEqual({ nodeName: 'node-b', commonName: 'system:node:node-b', serialNumber: expect.stringMatching(/^[0-9a-f]+$/), notBefore: expect.any(Date) });
      expect(server.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
      // the edge sees the hub, which names no node
      expect(client.peer).toEqual({ commonName: 'cloudcore' });
    });

    it(`${kind} - a client without a certificate is refused`, async () => {
      const hub = await startHub();
      const refusal = await expectRefused(hub, certs.noCertificate, 'node-a');
      expect(refusal.reason).toMatch(/certificate/i);
      expect(refusal.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    });

    it(`${kind} - a client certificate from another CA is refused`, async () => {
      const hub = await startHub();
      const refusal = await expectRefused(hub, certs.foreignNodeA, 'node-a');
      expect(refusal.reason).toMatch(/certificate|unknown_ca/i);
      // Node destroys a WebSocket peer with an untrusted certificate before telling us its address
      if (kind === 'quic') expect(refusal.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    });

    it(`${kind} - a certificate whose CN names no node is refused`, async () => {
      const hub = await startHub();
      const refusal = await expectRefused(hub, certs.nonNode, 'kedgeadm');
      expect(refusal.reason).toContain('system:node:');
      expect(refusal.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    });

    it(`${kind} - the edge refuses a hub whose certificate is not a server certificate for its address`, async () => {
      const listener = await listenHub(kind, { host: '127.0.0.1', port: 0, tls: certs.nodeB });
      cleanup.add(() => listener.close());
      const accepted: Connection[] = [];
      listener.onConnection((connection) => accepted.push(connection));
      const hub: Hub = { listener, port: listener.port, accepted: [], refusals: [] };
      await expect(dial(hub)).rejects.toBeInstanceOf(DialError);
      expect(accepted).toEqual([]);
    });

    it(`${kind} - a frame over maxFrameBytes is refused as badFrame and the process survives`, async () => {
      const hub = await startHub({ maxFrameBytes: 1024 });
      const client = record(await dial(hub));
      await waitFor(() => hub.accepted.length === 1, 'the hub to accept the edge');
      const server = hub.accepted[0] as Recorder;

      await client.connection.send(testMessage('x'.repeat(1500)));
      await waitFor(() => server.badFrames.length === 1, 'the oversized frame to be refused');
      const refused = server.badFrames[0];
      expect(refused).toBeInstanceOf(ProtocolError);
      expect((refused as ProtocolError).code).toBe('FRAME_TOO_LARGE');
      expect(server.messages).toEqual([]);

      if (kind === 'websocket') {
        // a WebSocket frame boundary survives, so the link stays and the next frame is read
        await client.connection.send(testMessage('small'));
        await waitFor(() => server.messages.length === 1, 'the next message');
        expect(server.connection.closed).toBe(false);
      } else {
        // a length-prefixed stream cannot be resynchronised: the hub closes the link
        await waitFor(() => client.closes.length === 1, 'the edge to see the link closed');
        expect(server.closes[0]?.reason).toMatch(/protocol violation/);
      }
    });

    it(`${kind} - a message over the sender's own maxFrameBytes is refused before it is sent`, async () => {
      const hub = await startHub();
      const client = await dial(hub, certs.nodeA, 'node-a', { maxFrameBytes: 1024 });
      await expect(client.send(testMessage('y'.repeat(2000)))).rejects.toMatchObject({ code: 'FRAME_TOO_LARGE' });
      await client.send(testMessage('fits'));
      await waitFor(() => hub.accepted[0]?.messages.length === 1, 'the message that fits');
    });

    it(`${kind} - closing the edge side emits close on the hub side`, async () => {
      const hub = await startHub();
      const client = record(await dial(hub));
      await waitFor(() => hub.accepted.length === 1, 'the hub to accept the edge');
      const server = hub.accepted[0] as Recorder;
      await client.connection.close('edge going away');
      expect(client.connection.closed).toBe(true);
      await waitFor(() => server.closes.length === 1, 'close on the hub side');
      expect(server.closes[0]?.local).toBe(false);
      expect(client.closes).toEqual([{ local: true, reason: 'edge going away' }]);
    });

    it(`${kind} - closing the hub side emits close on the edge side`, async () => {
      const hub = await startHub();
      const client = record(await dial(hub));
      await waitFor(() => hub.accepted.length === 1, 'the hub to accept the edge');
      const server = hub.accepted[0] as Recorder;
      await server.connection.close('hub evicts the node');
      await server.connection.close('second close is harmless');
      await waitFor(() => client.closes.length === 1, 'close on the edge side');
      expect(client.closes[0]?.local).toBe(false);
      expect(client.closes[0]?.reason).toContain('hub evicts the node');
      expect(server.closes).toEqual([{ local: true, reason: 'hub evicts the node' }]);
    });

    it(`${kind} - send after close rejects with ConnectionClosedError`, async () => {
      const hub = await startHub();
      const client = await dial(hub);
      await client.close();
      await expect(client.send(testMessage('late'))).rejects.toBeInstanceOf(ConnectionClosedError);
    });

    it(`${kind} - 2,000 messages arrive intact and in order`, async () => {
      const hub = await startHub();
      const client = record(await dial(hub));
      await waitFor(() => hub.accepted.length === 1, 'the hub to accept the edge');
      const server = hub.accepted[0] as Recorder;
      const payload = (i: number): { seq: number; body: string } => ({ seq: i, body: `${i}:${'é✓'.repeat(i % 50)}` });

      // all at once: the send queue must keep the order and bound the memory
      await Promise.all(Array.from({ length: 2_000 }, (_, i) => client.connection.send(testMessage(payload(i)))));
      await Promise.all(Array.from({ length: 2_000 }, (_, i) => server.connection.send(testMessage(payload(i)))));

      await waitFor(() => server.messages.length === 2_000 && client.messages.length === 2_000, '2,000 messages each way');
      const expected = Array.from({ length: 2_000 }, (_, i) => payload(i));
      expect(contentsOf(server.messages)).toEqual(expected);
      expect(contentsOf(client.messages)).toEqual(expected);
    });

    it(`${kind} - pauseReading stops delivery until every holder resumed, and nothing is lost`, async () => {
      const hub = await startHub();
      const client = record(await dial(hub));
      await waitFor(() => hub.accepted.length === 1, 'the hub to accept the edge');
      const server = hub.accepted[0] as Recorder;
      await client.connection.send(testMessage('before'));
      await waitFor(() => server.messages.length === 1, 'the first message');
      server.connection.pauseReading('rate');
      server.connection.pauseReading('in-flight');
      expect(server.connection.readingPaused).toBe(true);
      const sends = Array.from({ length: 50 }, (_, i) => client.connection.send(testMessage({ paused: i })));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(server.messages).toHaveLength(1);
      server.connection.resumeReading('rate');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(server.messages).toHaveLength(1);
      server.connection.resumeReading('in-flight');
      await Promise.all(sends);
      await waitFor(() => server.messages.length === 51, 'the held messages after resume');
      expect(contentsOf(server.messages.slice(1))).toEqual(Array.from({ length: 50 }, (_, i) => ({ paused: i })));
    });

    it(`${kind} - closing the listener closes its connections`, async () => {
      const hub = await startHub();
      const client = record(await dial(hub));
      await waitFor(() => hub.accepted.length === 1, 'the hub to accept the edge');
      await hub.listener.close();
      await waitFor(() => client.closes.length === 1, 'the edge to see the hub go away');
      expect(client.closes[0]?.local).toBe(false);
      expect(hub.accepted[0]?.closes[0]).toEqual({ local: true, reason: 'hub listener closing' });
    });
  });
}

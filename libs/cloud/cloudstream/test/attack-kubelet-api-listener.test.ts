// The kubelet API's ports are reachable from the network (the API server dials them on the pod IP), so they
// get the hub listeners' guards: per-IP connection limits before any TLS work, and a deadline for TLS and the
// request headers. A real KubeletApiServer on loopback; the stream handler and the reviews are fixed
// implementations, since no request gets that far.
import { connect, type Socket } from 'node:net';
import { createCertificateAuthority, issueServerCertificate } from '@kedge/pki';
import { createLogger } from '@kedge/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeletApiServer, type PodStreamHandler } from '../src/index';

const logger = createLogger({ name: 'kubelet-api-test', level: 'silent' });
const servers: KubeletApiServer[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) await server.close();
});

const unusedStreams: PodStreamHandler = {
  streamLog: async (_target, _request, response) => void response.writeHead(500).end('not expected'),
  upgrade: (_kind, _target, _request, socket) => void socket.destroy(),
};

async function startServer(options: { maxConnectionsPerIp?: number; handshakeTimeoutMs?: number }): Promise<{ server: KubeletApiServer; port: number }> {
  const ca = await createCertificateAuthority({ commonName: 'test-ca' });
  const server = new KubeletApiServer({
    streams: unusedStreams,
    hasSession: () => true,
    findPod: async () => undefined,
    auth: { reviewToken: async () => undefined, reviewAccess: async () => ({ allowed: false }) },
    clientCaPem: ca.certPem,
    servingCertificate: await issueServerCertificate(ca, { commonName: 'kubelet-api', ipAddresses: ['127.0.0.1'] }),
    advertiseAddress: '127.0.0.1',
    bindAddress: '127.0.0.1',
    portRangeStart: 30_000 + Math.floor(Math.random() * 20_000),
    portRangeSize: 20,
    connectionLimits: { maxConnectionsPerIp: options.maxConnectionsPerIp ?? 128, newConnectionsPerIpPerSecond: 100, newConnectionsBurstPerIp: 100 },
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    logger,
  });
  servers.push(server);
  return { server, port: await server.allocate('gw-1') };
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    sockets.push(socket);
    socket.on('error', reject);
  });
}

const closed = (socket: Socket): Promise<void> => new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

describe('kubelet API - listener guards', () => {
  it('attack - one host holding sockets open gets no more than maxConnectionsPerIp, and is counted', async () => {
    const { server, port } = await startServer({ maxConnectionsPerIp: 2 });
    const held = [await open(port), await open(port)];
    const third = await open(port);
    await closed(third);
    expect(held.every((socket) => !socket.destroyed)).toBe(true);
    expect((await server.metrics.refused.get()).values).toEqual([expect.objectContaining({ labels: { reason: 'per-ip-connections' }, value: 1 })]);
    // a socket that goes frees its place
    held[0]?.destroy();
    await closed(held[0] as Socket);
    // (once the server saw it close: poll, a refused attempt is closed at once)
    const deadline = Date.now() + 20_000;
    let admitted = false;
    while (!admitted && Date.now() < deadline) {
      const again = await open(port);
      await new Promise((resolve) => setTimeout(resolve, 100));
      admitted = !again.destroyed;
    }
    expect(admitted).toBe(true);
  });

  it('attack - a client that never finishes TLS is cut at the handshake deadline', async () => {
    const { port } = await startServer({ handshakeTimeoutMs: 300 });
    const silent = await open(port);
    const started = Date.now();
    await closed(silent);
    // cut by the server, well before the test's own deadline
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

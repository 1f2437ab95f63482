// Threat suite for the certificate server (HTTPS :10002), which anyone on the network can reach
// before they hold any credential: slowloris at every stage and connection floods from one host.
// Real sockets on loopback; 127.0.0.2.. stand for other hosts.
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { JoinTokenLedger, createCertificateAuthority, issueServerCertificate, type CertificateAuthority, type IssuedCertificate } from '@kedge/pki';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCertificateServer, type CertificateServer, type CertificateServerEvent, type CertificateServerOptions } from '../../src/certificates/index';

let authority: CertificateAuthority;
let serverCert: IssuedCertificate;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  authority = await createCertificateAuthority();
  serverCert = await issueServerCertificate(authority, { commonName: 'cloudcore', ipAddresses: ['127.0.0.1'] });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(options: Partial<CertificateServerOptions>): Promise<{ server: CertificateServer; events: CertificateServerEvent[] }> {
  const dir = await mkdtemp(joinPath(tmpdir(), 'kedge-cert-attack-'));
  const events: CertificateServerEvent[] = [];
  const server = await startCertificateServer({ host: '127.0.0.1', port: 0, authority, serverCert, ledger: new JoinTokenLedger(dir), nodeExists: async () => false, onEvent: (event) => events.push(event), ...options });
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  cleanups.push(() => server.close());
  return { server, events };
}

function openTcp(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port, localAddress });
    socket.on('error', () => undefined);
    cleanups.push(() => socket.destroy());
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** GET /ca.crt from `localAddress`; resolves with the status */
function fetchCa(port: number, localAddress: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const request = get({ host: '127.0.0.1', port, path: '/ca.crt', localAddress, rejectUnauthorized: false, agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('error', reject);
  });
}

describe('threat - certificate server', () => {
  it('attack - a slowloris that never starts TLS is cut at the handshake timeout', async () => {
    const { server, events } = await start({ handshakeTimeoutMs: 500 });
    const socket = await openTcp(server.port, '127.0.0.2');
    const started = Date.now();
    expect(await closedWithin(socket, 5_000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(events.some((e) => e.type === 'refused' && e.reason === 'HANDSHAKE_TIMEOUT')).toBe(true);
  });

  it('attack - a slowloris that finishes TLS and trickles its request headers is cut at the handshake timeout', async () => {
    const { server, events } = await start({ handshakeTimeoutMs: 500 });
    const tcp = await openTcp(server.port, '127.0.0.3');
    const socket = tlsConnect({ socket: tcp, rejectUnauthorized: false });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('secureConnect', resolve));
    const started = Date.now();
    socket.write('POST /edge.crt HTTP/1.1\r\nHost: cloudcore\r\n');
    const trickle = setInterval(() => socket.writable && socket.write(`X-Slow-${Date.now()}: 1\r\n`), 200);
    cleanups.push(() => clearInterval(trickle));
    expect(await closedWithin(tcp, 5_000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(events.some((e) => e.type === 'refused' && e.reason === 'HANDSHAKE_TIMEOUT')).toBe(true);
  });

  it('attack - a per-IP connection flood is refused beyond the limit while another IP still gets the CA', async () => {
    const { server, events } = await start({ connectionLimits: { maxConnectionsPerIp: 4 } });
    const flood = await Promise.all(Array.from({ length: 12 }, () => openTcp(server.port, '127.0.0.4')));
    const cut = await Promise.all(flood.map((socket) => closedWithin(socket, 1_000)));
    expect(cut.filter(Boolean)).toHaveLength(8);
    expect(events.filter((e) => e.type === 'refused' && e.reason === 'PER_IP_CONNECTIONS')).toHaveLength(8);
    expect(await fetchCa(server.port, '127.0.0.5')).toBe(200);
  });

  it('attack - new connections faster than the per-IP rate are refused', async () => {
    const { server, events } = await start({ connectionLimits: { newConnectionsPerIpPerSecond: 1, newConnectionsBurstPerIp: 3 } });
    const flood = await Promise.all(Array.from({ length: 10 }, () => openTcp(server.port, '127.0.0.6')));
    const cut = await Promise.all(flood.map((socket) => closedWithin(socket, 500)));
    expect(cut.filter(Boolean).length).toBeGreaterThanOrEqual(6);
    expect(events.some((e) => e.type === 'refused' && e.reason === 'PER_IP_RATE')).toBe(true);
    expect(await fetchCa(server.port, '127.0.0.7')).toBe(200);
  });
});

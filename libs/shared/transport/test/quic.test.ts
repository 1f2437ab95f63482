import { X509Certificate } from 'node:crypto';
import { requires } from '@kedge/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from '../src/connection';
import { TransportConfigError } from '../src/errors';
import { dialQuicHub, quicHubAddress } from '../src/quic/dial-quic-hub';
import { listenQuicHub } from '../src/quic/quic-hub-listener';
import { TlsAlert, certificatesOfPem, checkServerCertificate } from '../src/quic/quic-tls';
import { createTestCertificates } from './certificates';
import type { TestCertificates } from './certificates';
import { Cleanup, record, testMessage, waitFor } from './helpers';
import type { Recorder } from './helpers';

const quic = await requires('quic');

function der(pem: string): Uint8Array {
  return new X509Certificate(pem).raw;
}

describe('quic hub certificate check', () => {
  let certs: TestCertificates;
  beforeAll(() => {
    certs = createTestCertificates();
  });
  afterAll(() => certs.cleanup());

  it('quic tls - accepts the hub certificate for its IP and DNS name', () => {
    const trusted = certificatesOfPem(certs.ca);
    expect(checkServerCertificate([der(certs.server.cert)], trusted, '127.0.0.1')).toBeUndefined();
    expect(checkServerCertificate([der(certs.server.cert)], trusted, 'localhost')).toBeUndefined();
  });

  it('quic tls - refuses a certificate for another name, a client certificate, and another CA', () => {
    const trusted = certificatesOfPem(certs.ca);
    expect(checkServerCertificate([der(certs.server.cert)], trusted, '10.0.0.1')?.alert).toBe(TlsAlert.BadCertificate);
    expect(checkServerCertificate([der(certs.nodeA.cert)], trusted, '127.0.0.1')?.problem).toMatch(/serverAuth/);
    expect(checkServerCertificate([der(certs.foreignNodeA.cert)], trusted, '127.0.0.1')?.alert).toBe(TlsAlert.UnknownCa);
    expect(checkServerCertificate([], trusted, '127.0.0.1')?.alert).toBe(TlsAlert.CertificateRequired);
    expect(checkServerCertificate([der(certs.server.cert)], trusted, 'localhost', new Date('2001-01-01'))?.alert).toBe(
      TlsAlert.CertificateExpired,
    );
  });

  it('quic tls - hub URLs must be quic://host:port', () => {
    expect(quicHubAddress('quic://127.0.0.1:10001')).toEqual({ host: '127.0.0.1', port: 10001 });
    expect(quicHubAddress('quic://[::1]:10001')).toEqual({ host: '::1', port: 10001 });
    expect(() => quicHubAddress('wss://127.0.0.1:10001')).toThrow(TransportConfigError);
    expect(() => quicHubAddress('quic://127.0.0.1')).toThrow(TransportConfigError);
  });
});

quic.describe('quic transport', () => {
  let certs: TestCertificates;
  const cleanup = new Cleanup();
  beforeAll(() => {
    certs = createTestCertificates();
  });
  afterAll(() => certs.cleanup());
  afterEach(() => cleanup.run());

  it('quic - QUIC keepalives hold an idle link open past the idle timeout', async () => {
    const liveness = { keepaliveIntervalMs: 50, idleTimeoutMs: 300 };
    const listener = await listenQuicHub({ host: '127.0.0.1', port: 0, tls: certs.server, ...liveness });
    cleanup.add(() => listener.close());
    const accepted: Recorder[] = [];
    listener.onConnection((connection: Connection) => accepted.push(record(connection)));
    const client = record(
      await dialQuicHub({ url: `quic://127.0.0.1:${listener.port}`, tls: certs.nodeA, nodeName: 'node-a', handshakeTimeoutMs: 5_000, ...liveness }),
    );
    cleanup.add(() => client.connection.close());
    await waitFor(() => accepted.length === 1, 'the hub to accept the edge');

    // nothing but keepalives for four idle timeouts
    const quietUntil = Date.now() + 4 * liveness.idleTimeoutMs;
    await waitFor(() => Date.now() >= quietUntil || client.closes.length > 0, 'four idle timeouts to pass');
    expect(client.closes).toEqual([]);
    expect(accepted[0]?.closes).toEqual([]);
    await client.connection.send(testMessage('still up'));
    await waitFor(() => accepted[0]?.messages.length === 1, 'a message after the quiet period');
  });
});

// The edge end of the QUIC transport: handshake with this node's certificate, check the hub's own
// certificate, open the one stream, and wait until the hub acknowledges the node.
import { isIP } from 'node:net';
import { X509Certificate } from 'node:crypto';
import type { TLSVerifyCallback } from '@matrixai/quic';
import type { Connection } from '../connection';
import { DialError, TransportConfigError } from '../errors';
import { commonNameOf } from '../identity';
import { formatAddress, resolveLimits, resolveLiveness } from '../options';
import type { DialHubOptions } from '../options';
import { withDeadline } from '../with-deadline';
import { requireQuic } from './load-quic';
import { QUIC_HUB_ALPN, closeReasonBytes } from './quic-hub-listener';
import { QuicLinkConnection } from './quic-link-connection';
import { certificatesOfPem, checkServerCertificate, connectionIdCrypto } from './quic-tls';

type TlsAlertCode = NonNullable<Awaited<ReturnType<TLSVerifyCallback>>>;

/** `quic://host:port` → host (IPv6 without brackets) and port. */
export function quicHubAddress(url: string): { host: string; port: number } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new TransportConfigError('url', `${JSON.stringify(url)} is not a URL (${String(error)})`);
  }
  if (parsed.protocol !== 'quic:' || parsed.port === '') {
    throw new TransportConfigError('url', `${JSON.stringify(url)} must look like quic://host:port`);
  }
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port) };
}

/** Connects to a hub over QUIC; rejects with DialError (or QuicUnavailableError where QUIC cannot run). */
export async function dialQuicHub(options: DialHubOptions): Promise<Connection> {
  const runtime = await requireQuic();
  const { host, port } = quicHubAddress(options.url);
  const limits = resolveLimits(options.limits);
  const liveness = resolveLiveness(options);
  const trusted = certificatesOfPem(options.tls.ca);
  if (trusted.length === 0) throw new TransportConfigError('tls.ca', 'contains no PEM certificate');
  const deadline = Date.now() + options.handshakeTimeoutMs;
  let serverProblem: string | undefined;

  let client;
  try {
    client = await runtime.quic.QUICClient.createQUICClient(
      {
        host,
        port,
        ...(options.localAddress !== undefined ? { localHost: options.localAddress } : {}),
        // SNI carries DNS names only
        ...(isIP(host) === 0 ? { serverName: host } : {}),
        crypto: connectionIdCrypto,
        config: {
          // an empty certificate means "present none" (only useful to test that the hub refuses it)
          ...(options.tls.cert !== '' ? { cert: options.tls.cert, key: options.tls.key } : {}),
          ca: options.tls.ca,
          verifyPeer: true,
          // quiche would check the host as a DNS name only; this checks the chain and IP SANs too
          verifyCallback: async (chain) => {
            const problem = checkServerCertificate(chain, trusted, host);
            serverProblem = problem?.problem;
            return problem?.alert as TlsAlertCode | undefined;
          },
          maxIdleTimeout: liveness.idleTimeoutMs,
          keepAliveIntervalTime: liveness.keepaliveIntervalMs,
          applicationProtos: [QUIC_HUB_ALPN],
        },
        logger: runtime.logger,
      },
      { timer: options.handshakeTimeoutMs },
    );
  } catch (error) {
    throw new DialError(options.url, serverProblem ?? 'QUIC handshake failed', { cause: error });
  }

  const connection = client.connection;
  const [serverLeaf] = connection.getRemoteCertsChain();
  let commonName = '';
  if (serverLeaf !== undefined) {
    try {
      commonName = commonNameOf(new X509Certificate(serverLeaf));
    } catch {
      commonName = new X509Certificate(serverLeaf).subject.replace(/\n/g, ', ');
    }
  }
  const link = new QuicLinkConnection({
    runtime,
    connection,
    stream: connection.newStream('bidi'),
    peer: { commonName },
    remoteAddress: formatAddress(connection.remoteHost, connection.remotePort),
    limits,
    stop: (code, reason) => client.destroy({ isApp: true, errorCode: code, reason: closeReasonBytes(reason), force: true }),
  });
  try {
    await withDeadline(link.sendOpenFrame(), deadline, 'opening the stream');
    // with TLS 1.3 the client finishes first; the hub may still refuse our certificate after this
    await withDeadline(link.opened, deadline, 'waiting for the hub to accept this node');
  } catch (error) {
    await link.close('dial failed');
    throw new DialError(options.url, 'the hub did not accept the link', { cause: error });
  }
  return link;
}

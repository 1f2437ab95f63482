// A certificate server "on the path": it answers GET /ca.crt with whatever body the attack needs,
// presents a TLS certificate of its own CA, and relays POST /edge.crt to the real cloudcore, so a
// join that trusts too much completes and leaves the attacker's CA trusted on the gateway.
import { request as httpsRequest, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { createCertificateAuthority, issueServerCertificate, type CertificateAuthority, type IssuedCertificate } from '@kedge/pki';

export interface SeenRequest {
  method: string;
  url: string;
  /** the join token, when an edge was fooled into sending it */
  authorization: string | undefined;
}

export interface HostileCertificateServer {
  port: number;
  url: string;
  /** the attacker's own CA: the one it wants the gateway to trust */
  authority: CertificateAuthority;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/** `caBody(attacker)` is what /ca.crt answers; POST /edge.crt goes to `realServerUrl` unchanged. */
export async function startHostileCertificateServer(
  realServerUrl: string,
  caBody: (attacker: CertificateAuthority) => string,
  /** the TLS certificate to present; by default one of the attacker's CA for 127.0.0.1 */
  ownTls?: IssuedCertificate,
): Promise<HostileCertificateServer> {
  const authority = await createCertificateAuthority({ commonName: 'kedge-ca' });
  const tls = ownTls ?? (await issueServerCertificate(authority, { commonName: 'cloudcore', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] }));
  const body = caBody(authority);
  const seen: SeenRequest[] = [];
  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem }, (request, response) => {
    seen.push({ method: request.method ?? '', url: request.url ?? '', authorization: request.headers.authorization });
    if (request.method === 'GET' && request.url === '/ca.crt') {
      request.resume();
      response.writeHead(200, { 'Content-Type': 'application/x-pem-file' }).end(body);
      return;
    }
    const upstream = httpsRequest(
      new URL(request.url ?? '/', realServerUrl),
      { method: request.method, headers: { ...request.headers, host: new URL(realServerUrl).host }, rejectUnauthorized: false, agent: false },
      (reply) => {
        response.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(response);
      },
    );
    upstream.on('error', (error) => response.writeHead(502).end(String(error)));
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `https://127.0.0.1:${port}`,
    authority,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The same DER under another PEM label; OpenSSL (and Node's TLS `ca`) loads all three as certificates. */
export function relabelPem(pem: string, label: string): string {
  return pem.replaceAll('BEGIN CERTIFICATE-----', `BEGIN ${label}-----`).replaceAll('END CERTIFICATE-----', `END ${label}-----`);
}

/**
 * A self-signed serving certificate for 127.0.0.1 that is not a CA (no basicConstraints cA, no
 * keyCertSign): a token made to pin it lets its holder pass today's hash check and serve TLS with it.
 */
export async function selfSignedLeaf(): Promise<IssuedCertificate> {
  x509.cryptoProvider.set(webcrypto);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '2a',
    name: [{ CN: ['cloudcore'] }],
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)?.join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { certPem: `${cert.toString('pem')}\n`, keyPem };
}

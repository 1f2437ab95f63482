import { execFile } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CsrRejectedError,
  InvalidNodeNameError,
  caCertificateHash,
  createCertificateAuthority,
  createNodeKeyAndCsr,
  describeCertificate,
  isIssuedBy,
  issueServerCertificate,
  keyMatchesCertificate,
  nodeNameOf,
  rotationDue,
  rotationFraction,
  rotationTime,
  signNodeCsr,
  type CertificateAuthority,
} from '../src/index';

const run = promisify(execFile);
let ca: CertificateAuthority;
let dir: string;

beforeAll(async () => {
  ca = await createCertificateAuthority();
  dir = await mkdtemp(join(tmpdir(), 'kedge-pki-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function opensslVerify(caPem: string, certPem: string, purpose: string): Promise<string> {
  const caPath = join(dir, `ca-${Math.random()}.crt`);
  const certPath = join(dir, `leaf-${Math.random()}.crt`);
  await writeFile(caPath, caPem);
  await writeFile(certPath, certPem);
  const { stdout } = await run('openssl', ['verify', '-purpose', purpose, '-CAfile', caPath, certPath]);
  return stdout;
}

/** The DER of a PEM block, with `from` replaced by `to` once (same length, so the DER stays well formed). */
function alterPem(pem: string, label: string, from: string, to: string): string {
  const der = Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const at = der.indexOf(Buffer.from(from));
  expect(at).toBeGreaterThan(0);
  Buffer.from(to).copy(der, at);
  return `-----BEGIN ${label}-----\n${der.toString('base64')}\n-----END ${label}-----\n`;
}

describe('certificate authority', () => {
  test('certificate authority - is a self-signed CA whose key matches and PEM round trips through node and openssl', async () => {
    const authority = await createCertificateAuthority({ commonName: 'test-ca', validityDays: 10 });
    const cert = new X509Certificate(authority.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe('CN=test-ca');
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(keyMatchesCertificate(authority.keyPem, authority.certPem)).toBe(true);
    expect(keyMatchesCertificate(ca.keyPem, authority.certPem)).toBe(false);
    const description = describeCertificate(authority.certPem);
    const days = (description.notAfter.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(9.99);
    expect(days).toBeLessThan(10.01);
    await expect(opensslVerify(authority.certPem, authority.certPem, 'any')).resolves.toContain('OK');
  });

  test('certificate authority - caCertificateHash is the sha256 of the DER, as openssl computes it', async () => {
    const path = join(dir, 'hash-ca.crt');
    await writeFile(path, ca.certPem);
    const { stdout } = await run('openssl', ['x509', '-in', path, '-noout', '-fingerprint', '-sha256']);
    const fromOpenssl = stdout.split('=')[1]?.trim().replace(/:/g, '').toLowerCase();
    expect(caCertificateHash(ca.certPem)).toBe(fromOpenssl);
    expect(describeCertificate(ca.certPem).fingerprint256).toBe(fromOpenssl);
  });
});

describe('server certificates', () => {
  test('server certificate - verifies with openssl as an SSL server and carries the requested SANs', async () => {
    const server = await issueServerCertificate(ca, {
      commonName: 'cloudcore',
      dnsNames: ['cloudcore.kedge.svc', 'localhost'],
      ipAddresses: ['127.0.0.1', '::1'],
    });
    await expect(opensslVerify(ca.certPem, server.certPem, 'sslserver')).resolves.toContain('OK');
    await expect(opensslVerify(ca.certPem, server.certPem, 'sslclient')).rejects.toThrow();
    const cert = new X509Certificate(server.certPem);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.checkHost('cloudcore.kedge.svc')).toBe('cloudcore.kedge.svc');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('10.0.0.1')).toBeUndefined();
    expect(cert.ca).toBe(false);
    expect(keyMatchesCertificate(server.keyPem, server.certPem)).toBe(true);
    const description = describeCertificate(server.certPem);
    expect(description).toMatchObject({ commonName: 'cloudcore', issuerCommonName: 'kedge-ca' });
    expect(description.dnsNames).toEqual(['cloudcore.kedge.svc', 'localhost']);
    expect(description.ipAddresses).toEqual(['127.0.0.1', '::1']);
  });

  test('server certificate - refuses an IP address that is not one, and no names at all', async () => {
    await expect(issueServerCertificate(ca, { commonName: 'x', ipAddresses: ['cloud.example'] })).rejects.toThrow(RangeError);
    await expect(issueServerCertificate(ca, { commonName: 'x' })).rejects.toThrow(/at least one DNS name or IP/);
  });
});

describe('node certificates', () => {
  test('node csr - carries CN system:node:<name> and O system:nodes, and openssl verifies its self-signature', async () => {
    const { csrPem, keyPem } = await createNodeKeyAndCsr('edge-1');
    const path = join(dir, 'node.csr');
    await writeFile(path, csrPem);
    const { stdout, stderr } = await run('openssl', ['req', '-in', path, '-noout', '-verify', '-subject']);
    expect(stdout + stderr).toContain('verify OK');
    expect(stdout).toContain('O = system:nodes, CN = system:node:edge-1');
    expect(keyPem).toContain('-----BEGIN PRIVATE KEY-----');
  });

  test('csr signing - issues a client-only cert for the node with a random serial, verified by openssl', async () => {
    const { csrPem, keyPem } = await createNodeKeyAndCsr('edge-1');
    const first = await signNodeCsr(ca, csrPem, { nodeName: 'edge-1', validityDays: 30 });
    const second = await signNodeCsr(ca, csrPem, { nodeName: 'edge-1' });
    await expect(opensslVerify(ca.certPem, first, 'sslclient')).resolves.toContain('OK');
    // a node certificate authenticates the node to the cloud and nothing else
    await expect(opensslVerify(ca.certPem, first, 'sslserver')).rejects.toThrow(/unsuitable certificate purpose/);
    expect(isIssuedBy(first, ca.certPem)).toBe(true);
    expect(await nodeNameOf(first)).toBe('edge-1');
    expect(keyMatchesCertificate(keyPem, first)).toBe(true);
    const a = describeCertificate(first);
    const b = describeCertificate(second);
    expect(a.commonName).toBe('system:node:edge-1');
    expect(a.serialNumber).toMatch(/^[0-9a-f]{32}$/);
    expect(a.serialNumber).not.toBe(b.serialNumber);
    expect(new X509Certificate(first).subject).toBe('O=system:nodes\nCN=system:node:edge-1');
  });

  test('csr signing - refuses a CSR whose CN names another node', async () => {
    const { csrPem } = await createNodeKeyAndCsr('edge-2');
    const refusal = await signNodeCsr(ca, csrPem, { nodeName: 'edge-1' }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(CsrRejectedError);
    expect(refusal).toMatchObject({ code: 'SUBJECT_MISMATCH', name: 'CsrRejectedError' });
    expect((refusal as Error).message).toContain('system:node:edge-1');
  });

  test('csr signing - refuses a CSR whose subject was altered after signing', async () => {
    const { csrPem } = await createNodeKeyAndCsr('edge-a');
    const tampered = alterPem(csrPem, 'CERTIFICATE REQUEST', 'system:node:edge-a', 'system:node:edge-b');
    await expect(signNodeCsr(ca, tampered, { nodeName: 'edge-b' })).rejects.toMatchObject({ code: 'BAD_CSR_SIGNATURE' });
  });

  test('csr signing - refuses garbage, a certificate instead of a CSR, and weak keys', async () => {
    await expect(signNodeCsr(ca, 'not a csr', { nodeName: 'edge-1' })).rejects.toMatchObject({ code: 'MALFORMED_CSR' });
    const garbage = '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n';
    await expect(signNodeCsr(ca, garbage, { nodeName: 'edge-1' })).rejects.toMatchObject({ code: 'MALFORMED_CSR' });
    await expect(signNodeCsr(ca, ca.certPem, { nodeName: 'edge-1' })).rejects.toMatchObject({ code: 'MALFORMED_CSR' });
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const keyPath = join(dir, 'weak.key');
    await writeFile(keyPath, weak.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const { stdout } = await run('openssl', ['req', '-new', '-key', keyPath, '-subj', '/O=system:nodes/CN=system:node:edge-1']);
    await expect(signNodeCsr(ca, stdout, { nodeName: 'edge-1' })).rejects.toMatchObject({ code: 'UNSUPPORTED_KEY' });
  });

  test('csr signing - ignores extensions the CSR asks for (no CA rights, no extra names)', async () => {
    const keyPath = join(dir, 'greedy.key');
    await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyPath]);
    const { stdout: csrPem } = await run('openssl', [
      'req', '-new', '-key', keyPath, '-subj', '/O=system:masters/CN=system:node:edge-1',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'subjectAltName=DNS:kubernetes.default',
    ]);
    const certPem = await signNodeCsr(ca, csrPem, { nodeName: 'edge-1' });
    const cert = new X509Certificate(certPem);
    expect(cert.ca).toBe(false);
    expect(cert.subjectAltName).toBeUndefined();
    expect(cert.subject).toBe('O=system:nodes\nCN=system:node:edge-1');
  });

  test('node names - refuses names Kubernetes would refuse before any crypto happens', async () => {
    await expect(createNodeKeyAndCsr('Edge_1')).rejects.toBeInstanceOf(InvalidNodeNameError);
    await expect(createNodeKeyAndCsr('a\r\nX-Injected: 1')).rejects.toMatchObject({ code: 'INVALID_NODE_NAME' });
    const { csrPem } = await createNodeKeyAndCsr('edge-1');
    await expect(signNodeCsr(ca, csrPem, { nodeName: '../edge-1' })).rejects.toBeInstanceOf(InvalidNodeNameError);
  });
});

describe('inspection', () => {
  test('isIssuedBy - is false for a certificate of another CA and for the CA itself against another CA', async () => {
    const other = await createCertificateAuthority({ commonName: 'kedge-ca' });
    const { csrPem } = await createNodeKeyAndCsr('edge-1');
    const cert = await signNodeCsr(other, csrPem, { nodeName: 'edge-1' });
    expect(isIssuedBy(cert, other.certPem)).toBe(true);
    expect(isIssuedBy(cert, ca.certPem)).toBe(false); // same issuer name, different key
    expect(isIssuedBy(other.certPem, ca.certPem)).toBe(false);
  });

  test('nodeNameOf - is undefined for certificates that are not node certificates', async () => {
    const server = await issueServerCertificate(ca, { commonName: 'system:node:sneaky', dnsNames: ['x'] });
    expect(await nodeNameOf(server.certPem)).toBeUndefined(); // CN alone is not enough without O=system:nodes
    expect(await nodeNameOf(ca.certPem)).toBeUndefined();
    await expect(nodeNameOf('garbage')).rejects.toThrow(/exactly one/);
  });
});

describe('rotation', () => {
  test('rotation - is due once the given fraction of the lifetime has passed', async () => {
    const { csrPem } = await createNodeKeyAndCsr('edge-1');
    const issuedAt = new Date('2026-01-01T00:00:00Z');
    const certPem = await signNodeCsr(ca, csrPem, { nodeName: 'edge-1', validityDays: 100, now: issuedAt });
    const { notBefore, notAfter } = describeCertificate(certPem);
    const at = (fraction: number): Date => new Date(notBefore.getTime() + fraction * (notAfter.getTime() - notBefore.getTime()));
    expect(rotationDue(certPem, at(0.79), { fraction: 0.8 })).toBe(false);
    expect(rotationDue(certPem, at(0.81), { fraction: 0.8 })).toBe(true);
    expect(rotationDue(certPem, at(0.71), { fraction: 0.7 })).toBe(true);
    expect(rotationTime(certPem, { fraction: 0.5 }).getTime()).toBe(at(0.5).getTime());
    expect(() => rotationDue(certPem, at(0.5), { fraction: 1.5 })).toThrow(RangeError);
  });

  test('rotation - fractions are jittered within [0.7, 0.9]', () => {
    expect(rotationFraction(0)).toBeCloseTo(0.7);
    expect(rotationFraction(0.5)).toBeCloseTo(0.8);
    expect(rotationFraction(0.999999)).toBeCloseTo(0.9);
    expect(rotationFraction(42)).toBeCloseTo(0.9);
    const samples = Array.from({ length: 1000 }, () => rotationFraction());
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0.7);
    expect(Math.max(...samples)).toBeLessThanOrEqual(0.9);
    expect(new Set(samples.map((value) => value.toFixed(2))).size).toBeGreaterThan(5);
  });
});

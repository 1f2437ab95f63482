// Revocation records with the CA, and node certificates that can only authenticate clients.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CertificateStoreError,
  REVOCATIONS_FILE,
  RevocationList,
  RevocationStore,
  createCertificateAuthority,
  createNodeKeyAndCsr,
  describeCertificate,
  signNodeCsr,
  type CertificateAuthority,
} from '../src/index';

let ca: CertificateAuthority;
let dir: string;

beforeAll(async () => {
  ca = await createCertificateAuthority();
  dir = await mkdtemp(join(tmpdir(), 'kedge-revocation-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function nodeCertificate(nodeName: string, options: { now?: Date; earliestNotBefore?: Date } = {}) {
  const { csrPem, keyPem } = await createNodeKeyAndCsr(nodeName);
  const certPem = await signNodeCsr(ca, csrPem, { nodeName, ...options });
  const { serialNumber, notBefore } = describeCertificate(certPem);
  return { certPem, keyPem, subject: { nodeName, serialNumber, notBefore } };
}

describe('threat - node certificates', () => {
  test('attack - a node certificate presented as a TLS server certificate is refused', async () => {
    const node = await nodeCertificate('gw-1');
    expect(new X509Certificate(node.certPem).keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']); // clientAuth only
    // a stolen node key posing as a server to someone who trusts the cluster CA
    const server = createServer({ cert: node.certPem, key: node.keyPem }, (socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const failure = await new Promise<Error | undefined>((resolve) => {
        const socket: TLSSocket = connect({
          host: '127.0.0.1',
          port: (server.address() as AddressInfo).port,
          ca: ca.certPem,
          // names aside: only the certificate's purpose is under test
          checkServerIdentity: () => undefined,
        });
        socket.once('secureConnect', () => {
          socket.destroy();
          resolve(undefined);
        });
        socket.once('error', resolve);
      });
      expect(failure?.message).toMatch(/unsuitable certificate purpose/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('revocation list', () => {
  test('revoking a node covers its earlier certificates, not one issued after with earliestNotBefore', async () => {
    const old = await nodeCertificate('gw-1');
    const other = await nodeCertificate('gw-2');
    const list = RevocationList.empty().withNode('gw-1', 'node deleted');
    expect(list.check(old.subject)).toMatchObject({ kind: 'node', nodeName: 'gw-1', reason: 'node deleted' });
    expect(list.check(other.subject)).toBeUndefined();

    // issued in the same second as the revocation, and backdated as usual: still outside it
    const earliestNotBefore = list.earliestNotBefore('gw-1');
    expect(earliestNotBefore).toBeDefined();
    const fresh = await nodeCertificate('gw-1', { earliestNotBefore });
    expect(fresh.subject.notBefore.getTime()).toBeGreaterThan(Date.parse(list.nodeRevocation('gw-1')?.notBeforeUntil ?? ''));
    expect(list.check(fresh.subject)).toBeUndefined();
    expect(list.earliestNotBefore('gw-2')).toBeUndefined();
  });

  test('one certificate can be revoked by serial; serials compare in any case and with leading zeros', async () => {
    const one = await nodeCertificate('gw-1');
    const two = await nodeCertificate('gw-1');
    const list = RevocationList.empty().withSerial(`00${one.subject.serialNumber.toUpperCase()}`, 'gw-1', 'key leaked');
    expect(list.check(one.subject)).toMatchObject({ kind: 'serial', reason: 'key leaked' });
    expect(list.check(two.subject)).toBeUndefined();
    expect(() => RevocationList.empty().withSerial('not-hex', 'gw-1', 'x')).toThrow(/hexadecimal/);
  });

  test('merging keeps every serial and the later node cutoff', () => {
    const early = RevocationList.empty().withNode('gw-1', 'first', new Date('2030-01-01T00:00:00Z')).withSerial('ab', 'gw-1', 'x');
    const late = RevocationList.empty().withNode('gw-1', 'second', new Date('2030-02-01T00:00:00Z')).withSerial('cd', 'gw-1', 'y');
    const merged = early.merge(late);
    expect(merged.nodeRevocation('gw-1')?.reason).toBe('second');
    expect(merged.size).toBe(3);
    // an older cutoff never replaces a newer one
    expect(late.withNode('gw-1', 'older', new Date('2030-01-15T00:00:00Z')).nodeRevocation('gw-1')?.reason).toBe('second');
  });

  test('the list is stored with the CA and read back by another reader', async () => {
    const storeDir = join(dir, 'pki');
    const certificate = await nodeCertificate('gw-1');
    await new RevocationStore(storeDir).revokeNode('gw-1', 'kedgeadm node revoke');
    const reread = await new RevocationStore(storeDir).load();
    expect(reread.check(certificate.subject)?.reason).toBe('kedgeadm node revoke');
  });

  test('a damaged list is an error naming the file, never an empty list', async () => {
    const storeDir = join(dir, 'damaged');
    await new RevocationStore(storeDir).revokeNode('gw-1', 'x');
    await writeFile(join(storeDir, REVOCATIONS_FILE), '{"version":1,"nodes":');
    const failure = await new RevocationStore(storeDir).load().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CertificateStoreError);
    expect((failure as CertificateStoreError).message).toContain(REVOCATIONS_FILE);
  });
});

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

async function nodeCertificate(nodeName: string, options: { now?: Date; earliestNotBefore?: Date; validityDays?: number } = {}) {
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

  test('parsing refuses a longestValidityDays that is not a whole number of days, naming it', () => {
    for (const bad of [0, -1, 1.5, '365']) {
      const text = JSON.stringify({ version: 1, longestValidityDays: bad, nodes: {}, serials: {} });
      expect(() => RevocationList.parse(text)).toThrow(CertificateStoreError);
      const failure = (() => {
        try {
          RevocationList.parse(text);
        } catch (error) {
          return error as Error;
        }
        return undefined;
      })();
      expect((failure?.cause as Error).message).toMatch(/longestValidityDays/);
    }
  });
});

describe('revocation list pruning', () => {
  const DAY = 86_400_000;
  const t0 = new Date('2031-03-01T00:00:00Z');
  const at = (days: number) => new Date(t0.getTime() + days * DAY);

  test('the longest declared validity wins, and merging keeps it', () => {
    const list = RevocationList.empty().withLongestValidity(30).withLongestValidity(10);
    expect(list.longestValidityDays).toBe(30);
    expect(RevocationList.empty().merge(list).longestValidityDays).toBe(30);
    expect(list.merge(RevocationList.empty().withLongestValidity(90)).longestValidityDays).toBe(90);
    expect(() => list.withLongestValidity(0)).toThrow(/whole number of days/);
  });

  test('a list without a declared validity is never pruned', () => {
    const list = RevocationList.empty().withNode('gw-1', 'node deleted', at(0)).withSerial('ab', 'gw-2', 'x', at(0));
    expect(list.pruned(at(10_000))).toBe(list);
  });

  test('attack - pruning never un-revokes a certificate that is still valid; it drops the record once that certificate has expired', async () => {
    // a gateway gets a 30-day certificate, and is deleted a day later
    const stolen = await nodeCertificate('gw-stolen', { now: at(0), validityDays: 30 });
    const leaked = await nodeCertificate('gw-leaked', { now: at(0), validityDays: 30 });
    const notAfter = new X509Certificate(stolen.certPem).validTo;
    const list = RevocationList.empty()
      .withLongestValidity(30)
      .withNode('gw-stolen', 'node deleted', at(1))
      .withSerial(leaked.subject.serialNumber, 'gw-leaked', 'key leaked', at(1));
    // on the last day the certificates are valid (and well after), the records stay
    for (const day of [29, 30, 31]) {
      const kept = list.pruned(at(day));
      expect(kept.check(stolen.subject)?.kind).toBe('node');
      expect(kept.check(leaked.subject)?.kind).toBe('serial');
    }
    // once the declared validity and the margin have passed, both certificates have expired: the records go
    const later = at(33);
    expect(Date.parse(notAfter)).toBeLessThan(later.getTime());
    const pruned = list.pruned(later);
    expect(pruned.size).toBe(0);
    expect(pruned.longestValidityDays).toBe(30);
  });

  test('the store prunes whenever it writes, keeping records that still cover valid certificates', async () => {
    const storeDir = join(dir, 'pruning');
    let now = at(0);
    const store = new RevocationStore(storeDir, { now: () => now });
    await store.declareValidity(30);
    await store.revokeNode('gw-old', 'node deleted', at(0));
    await store.revokeSerial('abcd', 'gw-old2', 'key leaked', at(0));
    now = at(20);
    await store.revokeNode('gw-recent', 'node deleted', at(20));
    expect((await store.load()).size).toBe(3);
    now = at(40);
    const stored = await store.revokeNode('gw-newest', 'node deleted', at(40));
    expect(Object.keys(JSON.parse(stored.toText()).nodes as object).sort()).toEqual(['gw-newest', 'gw-recent']);
    expect((await store.load()).size).toBe(2);
    // a second writer that never declared a validity still prunes by the declared one
    now = at(60);
    await new RevocationStore(storeDir, { now: () => now }).revokeSerial('ef', 'gw-x', 'x', at(60));
    const reread = await new RevocationStore(storeDir).load();
    expect(reread.nodeRevocation('gw-recent')).toBeUndefined();
    expect(reread.nodeRevocation('gw-newest')).toBeDefined();
  });
});

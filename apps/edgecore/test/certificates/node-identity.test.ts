// The checks edgecore makes on its stored identity at every start (node:crypto, no @peculiar/x509):
// the same verdicts as the @peculiar/x509 checks they replaced, on good, expired, wrong-CA and wrong-key sets.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createCertificateAuthority, createNodeKeyAndCsr, describeCertificate, isIssuedBy, keyMatchesCertificate, nodeNameOf, signNodeCsr, type CertificateAuthority } from '@kedge/pki';
import { isCertificateFor, loadNodeIdentity, nodeIdentityStore, saveNodeIdentity, type NodeIdentity } from '../../src/certificates/node-identity';

let dir: string;
let ca: CertificateAuthority;
let otherCa: CertificateAuthority;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kedge-node-identity-'));
  [ca, otherCa] = await Promise.all([createCertificateAuthority(), createCertificateAuthority()]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function identityFor(nodeName: string, options: { signer?: CertificateAuthority; issuedAt?: Date; validityDays?: number } = {}): Promise<NodeIdentity> {
  const { keyPem, csrPem } = await createNodeKeyAndCsr(nodeName);
  const certPem = await signNodeCsr(options.signer ?? ca, csrPem, { nodeName, now: options.issuedAt, validityDays: options.validityDays });
  return { caPem: ca.certPem, certPem, keyPem };
}

/** the verdict the @peculiar/x509-based check gave (nodeNameOf is still that parser) */
async function peculiarVerdict(identity: NodeIdentity, nodeName: string, now: Date): Promise<string> {
  if (!isIssuedBy(identity.certPem, identity.caPem)) return 'unusable';
  if (!keyMatchesCertificate(identity.keyPem, identity.certPem)) return 'unusable';
  if ((await nodeNameOf(identity.certPem)) !== nodeName) return 'other-node';
  // describeCertificate reads the dates as @peculiar/x509 did (libs/shared/pki/test/inspect.test.ts)
  return now >= describeCertificate(identity.certPem).notAfter ? 'expired' : 'valid';
}

describe('node identity checks', () => {
  test('node identity - good, expired, wrong-CA, wrong-key and other-node sets get the verdicts the @peculiar/x509 checks gave', async () => {
    const good = await identityFor('edge-1');
    const expired = await identityFor('edge-1', { issuedAt: new Date(Date.now() - 3 * 86_400_000), validityDays: 1 });
    const wrongCa = await identityFor('edge-1', { signer: otherCa });
    const wrongKey = { ...good, keyPem: (await createNodeKeyAndCsr('edge-1')).keyPem };
    const otherNode = await identityFor('edge-2');
    const cases: [string, NodeIdentity, string][] = [
      ['good', good, 'valid'],
      ['expired', expired, 'expired'],
      ['wrong CA', wrongCa, 'unusable'],
      ['wrong key', wrongKey, 'unusable'],
      ['other node', otherNode, 'other-node'],
    ];
    const now = new Date();
    for (const [name, identity, expected] of cases) {
      const store = nodeIdentityStore(join(dir, name.replace(' ', '-')));
      await saveNodeIdentity(store, identity);
      const stored = await loadNodeIdentity(store, 'edge-1', now);
      expect({ name, state: stored.state }).toEqual({ name, state: expected });
      expect({ name, state: await peculiarVerdict(identity, 'edge-1', now) }).toEqual({ name, state: expected });
      expect({ name, good: isCertificateFor(identity, 'edge-1') }).toEqual({ name, good: expected === 'valid' || expected === 'expired' });
    }
  });
});

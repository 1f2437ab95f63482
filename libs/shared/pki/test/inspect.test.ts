// describeCertificate and ownNodeNameOf read certificates with node:crypto (so an edge checking its own
// certificate does not load @peculiar/x509); they must say what the @peculiar/x509 reading said.
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  createCertificateAuthority,
  createNodeKeyAndCsr,
  describeCertificate,
  issueClientCertificate,
  issueServerCertificate,
  nodeNameOf,
  ownNodeNameOf,
  signNodeCsr,
  type CertificateDescription,
} from '../src/index';
import { canonicalIpAddress } from '../src/inspect';
import { ECDSA_SHA256, generateNodeKeyPair } from '../src/pem';
import type * as X509 from '@peculiar/x509';
import { loadX509 } from '../src/x509';

const x509 = await loadX509();

/** the reading describeCertificate gave before, with @peculiar/x509 */
function describedByPeculiar(certPem: string): CertificateDescription {
  const cert = new x509.X509Certificate(certPem);
  const names = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  return {
    commonName: cert.subjectName.getField('CN')[0] ?? '',
    issuerCommonName: cert.issuerName.getField('CN')[0] ?? '',
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    serialNumber: cert.serialNumber.toLowerCase(),
    fingerprint256: createHash('sha256').update(Buffer.from(cert.rawData)).digest('hex'),
    dnsNames: names.filter((name) => name.type === 'dns').map((name) => name.value),
    ipAddresses: names.filter((name) => name.type === 'ip').map((name) => canonicalIpAddress(name.value)),
  };
}

async function selfSigned(name: X509.JsonName, serialNumber: string, subjectAltNames: X509.JsonGeneralNames = []): Promise<string> {
  const keys = await generateNodeKeyPair();
  const extensions = subjectAltNames.length > 0 ? [new x509.SubjectAlternativeNameExtension(subjectAltNames)] : [];
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber,
    name,
    notBefore: new Date('2024-02-29T12:34:56Z'),
    notAfter: new Date('2031-07-01T00:00:01Z'),
    keys,
    signingAlgorithm: ECDSA_SHA256,
    extensions,
  });
  return cert.toString('pem');
}

describe('reading certificates without @peculiar/x509', () => {
  test('describeCertificate - same description as @peculiar/x509 for a CA, server, client, node and odd certificates', async () => {
    const ca = await createCertificateAuthority({ commonName: 'site-ca' });
    const server = await issueServerCertificate(ca, { commonName: 'cloudcore', dnsNames: ['Cloud.Example', 'localhost'], ipAddresses: ['10.0.0.5', '::1', 'fe80::1:2'] });
    const client = await issueClientCertificate(ca, { commonName: 'admin', organizations: ['system:masters'] });
    const node = await signNodeCsr(ca, (await createNodeKeyAndCsr('edge-1')).csrPem, { nodeName: 'edge-1' });
    const odd = [
      await selfSigned([{ CN: ['high-bit serial'] }], 'ff0102'), // DER INTEGER gets a leading zero byte
      await selfSigned([{ CN: ['short serial'] }], '01'),
      await selfSigned([{ O: ['no common name'] }], '7f'),
      await selfSigned([{ CN: ['first'] }, { CN: ['second'] }], '0a0b', [{ type: 'dns', value: 'a.example' }, { type: 'ip', value: '192.168.1.1' }, { type: 'dns', value: 'b.example' }]),
    ];
    for (const pem of [ca.certPem, server.certPem, client.certPem, node, ...odd]) {
      expect(describeCertificate(pem)).toEqual(describedByPeculiar(pem));
    }
  });

  test('ownNodeNameOf - same node name as nodeNameOf (the cloud\'s @peculiar/x509 reading) for node and non-node certificates', async () => {
    const ca = await createCertificateAuthority();
    const server = await issueServerCertificate(ca, { commonName: 'system:node:edge-1', dnsNames: ['edge-1'] });
    const nodeGroups = await issueClientCertificate(ca, { commonName: 'system:node:edge-2', organizations: ['system:nodes', 'other'] });
    const badName = await issueClientCertificate(ca, { commonName: 'system:node:Not_A_Name', organizations: ['system:nodes'] });
    const node = await signNodeCsr(ca, (await createNodeKeyAndCsr('edge-1')).csrPem, { nodeName: 'edge-1' });
    const twoNames = await selfSigned([{ O: ['system:nodes'] }, { CN: ['system:node:a'] }, { CN: ['system:node:b'] }], '01');
    const cases = [ca.certPem, server.certPem, nodeGroups.certPem, badName.certPem, node, twoNames];
    const verdicts = cases.map((pem) => ownNodeNameOf(pem));
    expect(verdicts).toEqual(await Promise.all(cases.map((pem) => nodeNameOf(pem))));
    expect(verdicts).toEqual([undefined, undefined, 'edge-2', undefined, 'edge-1', undefined]);
    expect(() => ownNodeNameOf('garbage')).toThrow(/exactly one/);
  });
});

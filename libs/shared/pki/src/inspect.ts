// Read-only questions about certificates: who is it for, who signed it, when does it end.
import { createHash } from 'node:crypto';
import { NODE_COMMON_NAME_PREFIX, NODE_ORGANIZATION, isValidNodeName } from './node-name';
import { decodePem, readCertificate } from './pem';
import { PemFormatError } from './errors';
import { x509 } from './x509';

export interface CertificateDescription {
  /** subject CN, '' when the subject has none */
  commonName: string;
  /** issuer CN, '' when the issuer has none */
  issuerCommonName: string;
  notBefore: Date;
  notAfter: Date;
  /** lowercase hex, no separators */
  serialNumber: string;
  /** lowercase hex sha256 of the DER, no separators */
  fingerprint256: string;
  /** subjectAltName DNS entries */
  dnsNames: string[];
  /** subjectAltName IP entries, in canonical text form */
  ipAddresses: string[];
}

/** Hex sha256 of the CA certificate's DER: what a join token pins before the edge trusts the CA. */
export function caCertificateHash(caCertPem: string): string {
  return createHash('sha256').update(decodePem(caCertPem, 'CERTIFICATE', 'CA certificate')).digest('hex');
}

export function describeCertificate(certPem: string): CertificateDescription {
  const der = decodePem(certPem, 'CERTIFICATE', 'certificate');
  const cert = parseX509(der);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.items ?? [];
  return {
    commonName: cert.subjectName.getField('CN')[0] ?? '',
    issuerCommonName: cert.issuerName.getField('CN')[0] ?? '',
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    serialNumber: cert.serialNumber.toLowerCase(),
    fingerprint256: createHash('sha256').update(der).digest('hex'),
    dnsNames: names.filter((name) => name.type === 'dns').map((name) => name.value),
    ipAddresses: names.filter((name) => name.type === 'ip').map((name) => canonicalIpAddress(name.value)),
  };
}

/** Whether `caCertPem` signed `certPem` (names and signature; validity dates are not checked). */
export function isIssuedBy(certPem: string, caCertPem: string): boolean {
  const cert = readCertificate(certPem, 'certificate');
  const ca = readCertificate(caCertPem, 'CA certificate');
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/** The node a node certificate is for, or undefined when it is not a `system:node:<name>` certificate. */
export function nodeNameOf(certPem: string): string | undefined {
  const cert = parseX509(decodePem(certPem, 'CERTIFICATE', 'certificate'));
  const commonNames = cert.subjectName.getField('CN');
  const [commonName] = commonNames;
  if (commonNames.length !== 1 || commonName === undefined) return undefined;
  if (!cert.subjectName.getField('O').includes(NODE_ORGANIZATION)) return undefined;
  if (!commonName.startsWith(NODE_COMMON_NAME_PREFIX)) return undefined;
  const nodeName = commonName.slice(NODE_COMMON_NAME_PREFIX.length);
  return isValidNodeName(nodeName) ? nodeName : undefined;
}

/** One text form per address, so that "::1" and "0:0:0:0:0:0:0:1" compare equal. */
export function canonicalIpAddress(address: string): string {
  if (!address.includes(':')) return address;
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address.toLowerCase();
  }
}

function parseX509(der: Buffer): x509.X509Certificate {
  try {
    return new x509.X509Certificate(der);
  } catch (cause) {
    throw new PemFormatError('certificate is not a readable X.509 certificate', { cause });
  }
}

// Read-only questions about certificates: who is it for, who signed it, when does it end.
// Dates, names, serial and SANs are read with node:crypto (OpenSSL), so that checking a certificate
// does not load @peculiar/x509 (~3 MB of heap on the edge). Deciding which node a peer *is*
// (nodeNameOf, used by the cloud to authorize) keeps the @peculiar/x509 parser, loaded on first use.
import { createHash } from 'node:crypto';
import type * as X509 from '@peculiar/x509';
import { NODE_COMMON_NAME_PREFIX, NODE_ORGANIZATION, isValidNodeName } from './node-name';
import { decodePem, readCertificate } from './pem';
import { PemFormatError } from './errors';
import { loadX509, type X509Module } from './x509';

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
  const cert = readCertificate(certPem, 'certificate');
  const { subject, issuer } = cert.toLegacyObject();
  const names = subjectAltNames(cert.subjectAltName);
  return {
    commonName: firstValue(subject, 'CN'),
    issuerCommonName: firstValue(issuer, 'CN'),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    // OpenSSL and @peculiar/x509 both print the value without leading zero bytes
    serialNumber: cert.serialNumber.toLowerCase(),
    fingerprint256: createHash('sha256').update(cert.raw).digest('hex'),
    dnsNames: names.filter((name) => name.type === 'DNS').map((name) => name.value),
    ipAddresses: names.filter((name) => name.type === 'IP Address').map((name) => canonicalIpAddress(name.value)),
  };
}

/** Whether `caCertPem` signed `certPem` (names and signature; validity dates are not checked). */
export function isIssuedBy(certPem: string, caCertPem: string): boolean {
  const cert = readCertificate(certPem, 'certificate');
  const ca = readCertificate(caCertPem, 'CA certificate');
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/**
 * The node a node certificate is for, or undefined when it is not a `system:node:<name>` certificate.
 * The cloud authorizes renewals with this; it parses with @peculiar/x509, loaded on first call.
 */
export async function nodeNameOf(certPem: string): Promise<string | undefined> {
  const der = decodePem(certPem, 'CERTIFICATE', 'certificate');
  const cert = parseX509(await loadX509(), der);
  return nodeNameFromFields(cert.subjectName.getField('CN'), cert.subjectName.getField('O'));
}

/**
 * nodeNameOf for a certificate this process already holds (its own, checked at every start), read
 * with node:crypto so that the check does not load @peculiar/x509. Same verdicts as nodeNameOf.
 */
export function ownNodeNameOf(certPem: string): string | undefined {
  const { subject } = readCertificate(certPem, 'certificate').toLegacyObject();
  return nodeNameFromFields(allValues(subject, 'CN'), allValues(subject, 'O'));
}

function nodeNameFromFields(commonNames: readonly string[], organizations: readonly string[]): string | undefined {
  const [commonName] = commonNames;
  if (commonNames.length !== 1 || commonName === undefined) return undefined;
  if (!organizations.includes(NODE_ORGANIZATION)) return undefined;
  if (!commonName.startsWith(NODE_COMMON_NAME_PREFIX)) return undefined;
  const nodeName = commonName.slice(NODE_COMMON_NAME_PREFIX.length);
  return isValidNodeName(nodeName) ? nodeName : undefined;
}

type LegacyName = Record<string, string | string[] | undefined>;

function allValues(name: unknown, field: string): string[] {
  const value = (name as LegacyName | undefined)?.[field];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function firstValue(name: unknown, field: string): string {
  return allValues(name, field)[0] ?? '';
}

// "DNS:a, IP Address:10.0.0.1, DNS:\"b,c\"": Node quotes (JSON) any value that holds a separator
const SAN_ENTRY = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/gy;

function subjectAltNames(text: string | undefined): { type: string; value: string }[] {
  if (text === undefined || text === '') return [];
  const entries: { type: string; value: string }[] = [];
  SAN_ENTRY.lastIndex = 0;
  for (let match = SAN_ENTRY.exec(text); match !== null && match[0] !== ''; match = SAN_ENTRY.exec(text)) {
    const raw = match[2] ?? '';
    entries.push({ type: match[1] ?? '', value: raw.startsWith('"') ? (JSON.parse(raw) as string) : raw });
    if (SAN_ENTRY.lastIndex >= text.length) break;
  }
  return entries;
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

function parseX509(x509: X509Module, der: Buffer): X509.X509Certificate {
  try {
    return new x509.X509Certificate(der);
  } catch (cause) {
    throw new PemFormatError('certificate is not a readable X.509 certificate', { cause });
  }
}

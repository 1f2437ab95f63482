// The cluster CA and the certificates it issues. Everything here is pure: PEM in, PEM out.
import { isIP } from 'node:net';
import { randomBytes, type webcrypto } from 'node:crypto';
import { readNodeCsr } from './csr';
import { NODE_ORGANIZATION, assertValidNodeName, nodeCommonName } from './node-name';
import { ECDSA_SHA256, decodePem, generateNodeKeyPair, importSigningKeyPem, privateKeyToPem } from './pem';
import { PemFormatError } from './errors';
import type * as X509 from '@peculiar/x509';
import { loadX509, type X509Module } from './x509';

export interface CertificateAuthority {
  certPem: string;
  /** PKCS#8 PEM; whoever holds it can mint node identities and join tokens */
  keyPem: string;
}

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
}

export interface CreateCertificateAuthorityOptions {
  commonName?: string;
  validityDays?: number;
  /** issue time, for tests; defaults to the current time */
  now?: Date;
}

export interface IssueServerCertificateOptions {
  commonName: string;
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  validityDays?: number;
  now?: Date;
}

export interface SignNodeCsrOptions {
  nodeName: string;
  validityDays?: number;
  now?: Date;
  /**
   * the certificate's notBefore is never earlier than this: after a node's certificates were revoked
   * (RevocationList.earliestNotBefore), a new one must fall outside that revocation
   */
  earliestNotBefore?: Date;
}

const DAY_MS = 86_400_000;
// extended key usage OIDs (RFC 5280 4.2.1.12), spelled out so that choosing one does not load the library
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
// Gateways often boot with a wrong clock until NTP catches up; a certificate that only becomes
// valid "in a minute" would make the first connection fail for no visible reason.
const BACKDATE_MS = 5 * 60_000;

export async function createCertificateAuthority(
  options: CreateCertificateAuthorityOptions = {},
): Promise<CertificateAuthority> {
  const commonName = options.commonName ?? 'kedge-ca';
  const keys = await generateNodeKeyPair();
  const { notBefore, notAfter } = validityWindow(options.validityDays ?? 3650, options.now);
  const x509 = await loadX509();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: [{ CN: [commonName] }],
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await privateKeyToPem(keys.privateKey) };
}

export async function issueServerCertificate(
  ca: CertificateAuthority,
  options: IssueServerCertificateOptions,
): Promise<IssuedCertificate> {
  const dnsNames = [...(options.dnsNames ?? [])];
  const ipAddresses = [...(options.ipAddresses ?? [])];
  for (const address of ipAddresses) {
    if (isIP(address) === 0) throw new RangeError(`"${address}" is not an IP address; put host names in dnsNames`);
  }
  if (dnsNames.length + ipAddresses.length === 0) {
    throw new RangeError('a server certificate needs at least one DNS name or IP address, or no client can verify it');
  }
  const keys = await generateNodeKeyPair();
  const cert = await signWithAuthority(ca, {
    subject: [{ CN: [options.commonName] }],
    publicKey: keys.publicKey,
    validityDays: options.validityDays ?? 365,
    now: options.now,
    extendedKeyUsages: [SERVER_AUTH],
    subjectAltNames: [
      ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
      ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
    ],
  });
  return { certPem: cert, keyPem: await privateKeyToPem(keys.privateKey) };
}

export interface IssueClientCertificateOptions {
  commonName: string;
  /** O= entries: the groups a Kubernetes authenticator reads from the certificate */
  organizations?: readonly string[];
  validityDays?: number;
  now?: Date;
}

/** A client certificate (clientAuth only) with a fresh key, e.g. the embedded API server's kubelet client. */
export async function issueClientCertificate(ca: CertificateAuthority, options: IssueClientCertificateOptions): Promise<IssuedCertificate> {
  if (options.commonName === '') throw new RangeError('a client certificate needs a common name: it is the user name');
  const keys = await generateNodeKeyPair();
  const cert = await signWithAuthority(ca, {
    subject: [...(options.organizations ?? []).map((o) => ({ O: [o] })), { CN: [options.commonName] }],
    publicKey: keys.publicKey,
    validityDays: options.validityDays ?? 365,
    now: options.now,
    extendedKeyUsages: [CLIENT_AUTH],
    subjectAltNames: [],
  });
  return { certPem: cert, keyPem: await privateKeyToPem(keys.privateKey) };
}

/**
 * Signs an edge node's CSR. Only the CSR's public key is used: the subject is rebuilt from
 * `nodeName` and the extensions are fixed here, so a CSR cannot ask for CA rights or extra names.
 */
export async function signNodeCsr(ca: CertificateAuthority, csrPem: string, options: SignNodeCsrOptions): Promise<string> {
  assertValidNodeName(options.nodeName);
  const csr = await readNodeCsr(csrPem, options.nodeName);
  return signWithAuthority(ca, {
    subject: [{ O: [NODE_ORGANIZATION] }, { CN: [nodeCommonName(options.nodeName)] }],
    publicKey: csr.publicKey,
    validityDays: options.validityDays ?? 365,
    now: options.now,
    earliestNotBefore: options.earliestNotBefore,
    // a node certificate only ever authenticates the node to the cloud; with serverAuth a stolen
    // one could also impersonate a server to anyone trusting the cluster CA
    extendedKeyUsages: [CLIENT_AUTH],
    subjectAltNames: [],
  });
}

interface SigningRequest {
  subject: X509.JsonName;
  publicKey: X509.PublicKey | webcrypto.CryptoKey;
  validityDays: number;
  now: Date | undefined;
  earliestNotBefore?: Date | undefined;
  extendedKeyUsages: string[];
  subjectAltNames: X509.JsonGeneralNames;
}

async function signWithAuthority(ca: CertificateAuthority, request: SigningRequest): Promise<string> {
  const x509 = await loadX509();
  const caCert = readAuthorityCertificate(x509, ca.certPem);
  const signingKey = await importSigningKeyPem(ca.keyPem, 'CA private key');
  const window = validityWindow(request.validityDays, request.now);
  const notBefore =
    request.earliestNotBefore !== undefined && request.earliestNotBefore > window.notBefore ? request.earliestNotBefore : window.notBefore;
  const { notAfter } = window;
  const caKeyId = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(request.extendedKeyUsages),
    await x509.SubjectKeyIdentifierExtension.create(request.publicKey),
    caKeyId === undefined
      ? await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey)
      : new x509.AuthorityKeyIdentifierExtension(caKeyId),
  ];
  if (request.subjectAltNames.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(request.subjectAltNames));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: request.subject,
    issuer: caCert.subjectName,
    notBefore,
    // never outlive the CA: a chain with an expired CA fails anyway, and later than expected
    notAfter: notAfter > caCert.notAfter ? caCert.notAfter : notAfter,
    publicKey: request.publicKey,
    signingKey,
    signingAlgorithm: ECDSA_SHA256,
    extensions,
  });
  return cert.toString('pem') + '\n';
}

function readAuthorityCertificate(x509: X509Module, certPem: string): X509.X509Certificate {
  const der = decodePem(certPem, 'CERTIFICATE', 'CA certificate');
  try {
    return new x509.X509Certificate(der);
  } catch (cause) {
    throw new PemFormatError('CA certificate is not a readable X.509 certificate', { cause });
  }
}

function validityWindow(validityDays: number, now: Date = new Date()): { notBefore: Date; notAfter: Date } {
  if (!(Number.isFinite(validityDays) && validityDays > 0)) {
    throw new RangeError(`validityDays must be a positive number, got ${validityDays}`);
  }
  return {
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + validityDays * DAY_MS),
  };
}

/** 16 random bytes, top bit clear so the DER INTEGER stays positive, next bit set so it stays 16 bytes long. */
function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex');
}

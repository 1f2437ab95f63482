// The node identity rule: a node is who its verified client certificate says it is, CN
// `system:node:<name>` as in Kubernetes node certificates. URLs, headers and messages never count.
import { X509Certificate } from 'node:crypto';
import type { PeerIdentity } from './connection';
import { IdentityError } from './errors';

const NODE_PREFIX = 'system:node:';
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_SUBDOMAIN_LENGTH = 253;

/** True for a Kubernetes object name (DNS-1123 subdomain): lowercase, digits, '-', '.', at most 253. */
export function isValidNodeName(name: string): boolean {
  return name.length <= MAX_SUBDOMAIN_LENGTH && DNS1123_SUBDOMAIN.test(name);
}

/** `system:node:<name>` → `<name>`; anything else throws IdentityError. */
export function nodeNameFromCommonName(commonName: string): string {
  if (!commonName.startsWith(NODE_PREFIX)) throw new IdentityError(commonName, 'does not start with "system:node:"');
  const name = commonName.slice(NODE_PREFIX.length);
  if (!isValidNodeName(name)) {
    throw new IdentityError(commonName, 'does not end in a valid node name (a DNS-1123 subdomain of at most 253 characters)');
  }
  return name;
}

/**
 * The single CN of a certificate subject. Node prints the subject one attribute per line; a subject
 * with zero or several CNs is refused rather than guessed at.
 */
export function commonNameOf(certificate: X509Certificate): string {
  const names = certificate.subject
    .split('\n')
    .filter((line) => line.startsWith('CN='))
    .map((line) => line.slice(3));
  const [first] = names;
  if (names.length !== 1 || first === undefined) {
    throw new IdentityError(certificate.subject.replace(/\n/g, ', '), `has ${names.length} common names instead of one`);
  }
  return first;
}

/** An edge as its verified client certificate describes it. */
export type NodeIdentity = Required<PeerIdentity>;

/** Identity of an edge from its (already chain-verified) client certificate; throws IdentityError. */
export function nodeIdentityOf(certificate: X509Certificate | Uint8Array): NodeIdentity {
  const x509 = certificate instanceof X509Certificate ? certificate : new X509Certificate(certificate);
  const commonName = commonNameOf(x509);
  return {
    commonName,
    nodeName: nodeNameFromCommonName(commonName),
    // carried so that the hub can check the certificate against the revocation list
    serialNumber: x509.serialNumber.toLowerCase(),
    notBefore: new Date(x509.validFrom),
  };
}

// The node's credentials on disk: ca.crt, node.crt and node.key (0600), always written together.
import {
  FileCertificateStore,
  describeCertificate,
  isIssuedBy,
  keyMatchesCertificate,
  ownNodeNameOf,
  type CertificateStore,
} from '@kedge/pki';

export const CA_FILE = 'ca.crt';
export const NODE_CERT_FILE = 'node.crt';
export const NODE_KEY_FILE = 'node.key';

export interface NodeIdentity {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export type StoredIdentity =
  | { state: 'valid'; identity: NodeIdentity }
  | { state: 'missing' }
  | { state: 'unusable'; reason: string }
  | { state: 'expired'; identity: NodeIdentity; notAfter: Date }
  | { state: 'other-node'; identity: NodeIdentity; storedNodeName: string | undefined };

export function nodeIdentityStore(dir: string): CertificateStore {
  return new FileCertificateStore(dir);
}

/** What is stored in `store`, judged for `nodeName` at `now`. */
export async function loadNodeIdentity(store: CertificateStore, nodeName: string, now: Date = new Date()): Promise<StoredIdentity> {
  const [caPem, certPem, keyPem] = await Promise.all([store.read(CA_FILE), store.read(NODE_CERT_FILE), store.read(NODE_KEY_FILE)]);
  if (caPem === undefined && certPem === undefined && keyPem === undefined) return { state: 'missing' };
  if (caPem === undefined || certPem === undefined || keyPem === undefined) {
    return { state: 'unusable', reason: `only some of ${CA_FILE}, ${NODE_CERT_FILE} and ${NODE_KEY_FILE} exist` };
  }
  const identity = { caPem, certPem, keyPem };
  try {
    if (!isIssuedBy(certPem, caPem)) return { state: 'unusable', reason: `${NODE_CERT_FILE} is not issued by ${CA_FILE}` };
    if (!keyMatchesCertificate(keyPem, certPem)) return { state: 'unusable', reason: `${NODE_KEY_FILE} is not the key of ${NODE_CERT_FILE}` };
    const storedNodeName = ownNodeNameOf(certPem);
    if (storedNodeName !== nodeName) return { state: 'other-node', identity, storedNodeName };
    const { notAfter } = describeCertificate(certPem);
    if (now >= notAfter) return { state: 'expired', identity, notAfter };
  } catch (error) {
    return { state: 'unusable', reason: `the files cannot be read (${error instanceof Error ? error.message : String(error)})` };
  }
  return { state: 'valid', identity };
}

export async function saveNodeIdentity(store: CertificateStore, identity: NodeIdentity): Promise<void> {
  await store.write([
    { name: CA_FILE, content: identity.caPem },
    { name: NODE_CERT_FILE, content: identity.certPem },
    { name: NODE_KEY_FILE, content: identity.keyPem, secret: true },
  ]);
}

/** Checks a certificate returned by the server before it replaces anything on disk. */
export function isCertificateFor(identity: NodeIdentity, nodeName: string): boolean {
  try {
    return (
      isIssuedBy(identity.certPem, identity.caPem) &&
      ownNodeNameOf(identity.certPem) === nodeName &&
      keyMatchesCertificate(identity.keyPem, identity.certPem)
    );
  } catch {
    return false;
  }
}

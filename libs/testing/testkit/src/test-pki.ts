// In-memory PKI for tests, made with the real @kedge/pki: a CA, a hub certificate for 127.0.0.1,
// and node certificates signed through a real CSR on first use.
import { createCertificateAuthority, createNodeKeyAndCsr, issueServerCertificate, signNodeCsr, type CertificateAuthority } from '@kedge/pki';

/** PEM material for one side of an mTLS link (the same shape as @kedge/transport's TlsMaterial). */
export interface TlsMaterial {
  cert: string;
  key: string;
  ca: string;
}

export interface TestPki {
  /** PEM of the cluster CA */
  ca: string;
  /** the CA with its key, to issue more certificates (a kubelet API's serving and client certificates) */
  authority: CertificateAuthority;
  /** hub certificate for IP 127.0.0.1 */
  server: TlsMaterial;
  /** client material for `system:node:<name>`, issued on first use and cached */
  node(name: string): Promise<TlsMaterial>;
}

export async function createTestPki(caName = 'kedge test CA'): Promise<TestPki> {
  const ca = await createCertificateAuthority({ commonName: caName, validityDays: 2 });
  const server = await issueServerCertificate(ca, { commonName: 'cloudcore', ipAddresses: ['127.0.0.1'], validityDays: 2 });
  const nodes = new Map<string, Promise<TlsMaterial>>();
  const issue = async (name: string): Promise<TlsMaterial> => {
    const { keyPem, csrPem } = await createNodeKeyAndCsr(name);
    const cert = await signNodeCsr(ca, csrPem, { nodeName: name, validityDays: 2 });
    return { cert, key: keyPem, ca: ca.certPem };
  };
  return {
    ca: ca.certPem,
    authority: ca,
    server: { cert: server.certPem, key: server.keyPem, ca: ca.certPem },
    node(name) {
      let material = nodes.get(name);
      if (material === undefined) {
        material = issue(name);
        nodes.set(name, material);
      }
      return material;
    },
  };
}

// The embedded API server's kubelet-client certificate (as kube-apiserver's --kubelet-client-certificate):
// issued by the cloud CA, CN kube-apiserver-kubelet-client in system:masters, kept in the PKI store
// (key 0600) and issued again when missing, from another CA, or due for rotation.
import { issueClientCertificate, isIssuedBy, keyMatchesCertificate, rotationDue, type CertificateAuthority, type CertificateStore, type IssuedCertificate } from '@kedge/pki';

export const KUBELET_CLIENT_CERT_FILE = 'kubelet-client.crt';
export const KUBELET_CLIENT_KEY_FILE = 'kubelet-client.key';
export const KUBELET_CLIENT_COMMON_NAME = 'kube-apiserver-kubelet-client';

function reusable(ca: CertificateAuthority, certPem: string, keyPem: string): boolean {
  try {
    return isIssuedBy(certPem, ca.certPem) && keyMatchesCertificate(keyPem, certPem) && !rotationDue(certPem);
  } catch {
    return false;
  }
}

export async function loadOrCreateKubeletClientCertificate(store: CertificateStore, ca: CertificateAuthority): Promise<IssuedCertificate> {
  const [certPem, keyPem] = await Promise.all([store.read(KUBELET_CLIENT_CERT_FILE), store.read(KUBELET_CLIENT_KEY_FILE)]);
  if (certPem !== undefined && keyPem !== undefined && reusable(ca, certPem, keyPem)) return { certPem, keyPem };
  const issued = await issueClientCertificate(ca, { commonName: KUBELET_CLIENT_COMMON_NAME, organizations: ['system:masters'] });
  await store.write([
    { name: KUBELET_CLIENT_CERT_FILE, content: issued.certPem },
    { name: KUBELET_CLIENT_KEY_FILE, content: issued.keyPem, secret: true },
  ]);
  return issued;
}

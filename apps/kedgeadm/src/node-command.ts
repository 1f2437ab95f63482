// `kedgeadm node revoke <name>`: revoke a node's certificates in the list cloudcore keeps with its CA
// (its data dir, or with --kubeconfig the Secret in the cluster). Every cloudcore reloads the list
// within pki.revocationReloadSeconds and drops the node's session; the certificate server refuses
// to renew those certificates. The node can come back only by joining again with a new token.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { CA_CERT_FILE, FileCertificateStore, RevocationStore, isValidNodeName, normalizeSerial, type CertificateStore } from '@kedge/pki';
import { DEFAULT_SECRET_NAME, SecretCertificateStore, defaultSecretNamespace } from '@kedge/pki-secret';
import { KedgeadmUsageError } from './token-command';

export interface NodeRevokeOptions {
  dataDir: string;
  /** revoke only this certificate (hex serial, as `openssl x509 -serial` prints it) */
  serial?: string;
  kubeconfig?: string;
  secretNamespace?: string;
  secretName?: string;
  now?: Date;
}

/** Revokes and returns the line to print. */
export async function revokeNodeCommand(nodeName: string, options: NodeRevokeOptions): Promise<string> {
  if (!isValidNodeName(nodeName)) throw new KedgeadmUsageError(`node name "${nodeName}": expected a DNS-1123 node name such as gateway-01`);
  if (options.serial !== undefined && !/^[0-9a-fA-F:]{1,100}$/.test(options.serial)) {
    throw new KedgeadmUsageError(`--serial "${options.serial}": expected the certificate's serial number in hex, as openssl x509 -noout -serial prints it`);
  }
  const store = await caStore(options);
  const revocations = new RevocationStore(store);
  const now = options.now ?? new Date();
  const next =
    options.serial === undefined
      ? `Every certificate of node "${nodeName}" issued up to ${now.toISOString()} is revoked`
      : `The certificate with serial ${normalizeSerial(options.serial)} of node "${nodeName}" is revoked`;
  if (options.serial === undefined) await revocations.revokeNode(nodeName, 'kedgeadm node revoke', now);
  else await revocations.revokeSerial(options.serial, nodeName, 'kedgeadm node revoke --serial', now);
  return (
    `${next} (${store.location}).\n` +
    'cloudcore drops the node\'s session within pki.revocationReloadSeconds (2 s by default) and will not renew that certificate.\n' +
    `To let the node back: delete its Node (kubectl delete node ${nodeName}; a join token never takes over an existing node), ` +
    `create a token (kedgeadm token create --node ${nodeName}) and join it again with that token.\n`
  );
}

// The same places `kedgeadm token` reads the CA from; a store without a CA is refused so that a
// mistyped --data-dir does not write a list no cloudcore reads.
async function caStore(options: NodeRevokeOptions): Promise<CertificateStore> {
  if (options.kubeconfig === undefined) {
    const pkiDir = join(options.dataDir, 'pki');
    if (!existsSync(join(pkiDir, CA_CERT_FILE))) {
      throw new KedgeadmUsageError(`no CA in ${pkiDir}: point --data-dir at cloudcore's data dir, or use --kubeconfig when cloudcore keeps its CA in a Secret`);
    }
    return new FileCertificateStore(pkiDir);
  }
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromFile(options.kubeconfig);
  } catch (error) {
    throw new KedgeadmUsageError(`--kubeconfig ${options.kubeconfig}: cannot be read as a kubeconfig: ${(error as Error).message}`);
  }
  const store = new SecretCertificateStore({
    kubeConfig,
    namespace: options.secretNamespace ?? defaultSecretNamespace(),
    name: options.secretName ?? DEFAULT_SECRET_NAME,
  });
  if ((await store.read(CA_CERT_FILE)) === undefined) {
    throw new KedgeadmUsageError(`no CA in ${store.location}: check --secret-namespace and --secret-name (cloudcore's pki.secretNamespace and pki.secretName)`);
  }
  return store;
}

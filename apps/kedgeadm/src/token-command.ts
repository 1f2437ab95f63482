// `kedgeadm token`: issue a join token from the CA that cloudcore created, in its data dir or, with
// --kubeconfig, in the Kubernetes Secret it keeps in a cluster.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { CA_CERT_FILE, CA_KEY_FILE, isValidNodeName, issueJoinToken, loadOrCreateAuthority, type CertificateAuthority } from '@kedge/pki';
import { DEFAULT_SECRET_NAME, SecretCertificateStore, defaultSecretNamespace } from '@kedge/pki-secret';
import { parseDurationSeconds } from './duration';

export interface TokenCommandOptions {
  dataDir: string;
  ttl: string;
  node?: string;
  /** read the CA from cloudcore's Secret in this cluster instead of the data dir */
  kubeconfig?: string;
  /** default: the pod's namespace in a cluster, else kedge (as cloudcore's pki.secretNamespace) */
  secretNamespace?: string;
  /** default cloudcore-pki (as cloudcore's pki.secretName) */
  secretName?: string;
}

export class KedgeadmUsageError extends Error {
  override readonly name = 'KedgeadmUsageError';
}

export async function issueTokenCommand(options: TokenCommandOptions): Promise<string> {
  const ttlSeconds = parseDurationSeconds(options.ttl, '--ttl');
  if (options.node !== undefined && !isValidNodeName(options.node)) {
    throw new KedgeadmUsageError(`--node "${options.node}": expected a DNS-1123 node name such as gateway-01`);
  }
  const authority = options.kubeconfig === undefined ? await authorityFromDataDir(options.dataDir) : await authorityFromSecret(options, options.kubeconfig);
  return issueJoinToken(authority, { ttlSeconds, ...(options.node ? { nodeName: options.node } : {}) });
}

async function authorityFromDataDir(dataDir: string): Promise<CertificateAuthority> {
  const pkiDir = join(dataDir, 'pki');
  if (!existsSync(join(pkiDir, CA_CERT_FILE))) {
    throw new KedgeadmUsageError(
      `no CA in ${pkiDir}: start cloudcore once with --data-dir ${dataDir} (it creates the CA), then run this again`,
    );
  }
  return loadOrCreateAuthority(pkiDir);
}

async function authorityFromSecret(options: TokenCommandOptions, kubeconfigFile: string): Promise<CertificateAuthority> {
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromFile(kubeconfigFile);
  } catch (error) {
    throw new KedgeadmUsageError(`--kubeconfig ${kubeconfigFile}: cannot be read as a kubeconfig: ${(error as Error).message}`);
  }
  const namespace = options.secretNamespace ?? defaultSecretNamespace();
  const name = options.secretName ?? DEFAULT_SECRET_NAME;
  const store = new SecretCertificateStore({ kubeConfig, namespace, name });
  const [certPem, keyPem] = await Promise.all([store.read(CA_CERT_FILE), store.read(CA_KEY_FILE)]);
  if (certPem === undefined && keyPem === undefined) {
    // never create a CA here: cloudcore would not know it, and no edge could ever connect
    const server = kubeConfig.getCurrentCluster()?.server ?? 'the cluster';
    throw new KedgeadmUsageError(
      `no CA in ${store.location} on ${server}: start cloudcore once against this cluster (pki.store auto or secret, ` +
        `pki.secretNamespace ${namespace}, pki.secretName ${name}), or run kedgeadm init --kubeconfig ${kubeconfigFile}, ` +
        'then run this again',
    );
  }
  // checks that both halves are there and belong together
  return loadOrCreateAuthority(store);
}

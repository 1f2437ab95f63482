// `kedgeadm init`: prepare the cloud side.
//  - no --kubeconfig: cloudcore.yaml for the embedded API server, and the CA in <data-dir>/pki;
//  - --kubeconfig: the deploy/cloudcore manifests applied to that cluster, with the CA created in the
//    Secret cloudcore reads there (its pod disk is ephemeral);
//  - --kubeconfig --cloudcore-on-host: cloudcore runs on this machine against that cluster; only the
//    namespace and the CA Secret go to the cluster, and cloudcore.yaml is written here.
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { cloudCoreConfigSchema, type CloudCoreConfigInput } from '@kedge/cloudcore-config';
import { ConfigError, parseConfigText } from '@kedge/config';
import { CA_CERT_FILE, CA_KEY_FILE, caCertificateHash, loadOrCreateAuthority } from '@kedge/pki';
import { DEFAULT_SECRET_NAME, FALLBACK_SECRET_NAMESPACE, SecretCertificateStore } from '@kedge/pki-secret';
import { apiErrorText, applyClusterManifests, loadClusterManifests, DEFAULT_MANIFEST_DIR, type ApplyOutcome } from './cluster-manifests';
import { KedgeadmUsageError } from './token-command';
import { WrittenFiles, readWrittenFiles } from './written-files';

/** Where cloudcore keeps its CA in a cluster: cloudcore's `pki.secretNamespace`/`pki.secretName` defaults. */
export const PKI_SECRET = { namespace: FALLBACK_SECRET_NAMESPACE, name: DEFAULT_SECRET_NAME } as const;

export interface InitOptions {
  dataDir: string;
  kubeconfig?: string;
  advertiseAddress: string;
  /** with a kubeconfig: run cloudcore on this host instead of deploying it into the cluster */
  cloudcoreOnHost?: boolean;
  /** the deploy/cloudcore directory to apply */
  manifests?: string;
  /** the cloudcore image the Deployment runs */
  image?: string;
  /** progress, one line per applied object */
  onApplied?: (outcome: ApplyOutcome) => void;
}

export interface InitResult {
  mode: 'embedded' | 'cluster' | 'host';
  /** cloudcore.yaml written here (embedded and host modes) */
  configFile?: string;
  /** where the CA lives: a file, or `secret <ns>/<name>` */
  caLocation: string;
  caHash: string;
  files: string[];
  applied: ApplyOutcome[];
}

export async function initCommand(options: InitOptions): Promise<InitResult> {
  const dataDir = resolve(options.dataDir);
  if (isIP(options.advertiseAddress) === 0) {
    throw new KedgeadmUsageError(
      `--advertise-address "${options.advertiseAddress}": expected an IP address edges can dial, e.g. 10.0.0.5 (it goes into the server certificate)`,
    );
  }
  if (readWrittenFiles(dataDir)) throw new KedgeadmUsageError(`${dataDir} was already initialised; \`kedgeadm reset --prefix ${dataDir}\` undoes it`);
  if (options.kubeconfig === undefined) {
    if (options.cloudcoreOnHost) throw new KedgeadmUsageError('--cloudcore-on-host needs --kubeconfig: without a cluster cloudcore always runs on this host');
    return initEmbedded(dataDir, options);
  }
  const kubeconfig = resolve(options.kubeconfig);
  if (!existsSync(kubeconfig)) throw new KedgeadmUsageError(`--kubeconfig ${options.kubeconfig}: no such file`);
  const configFile = join(dataDir, 'cloudcore.yaml');
  if (options.cloudcoreOnHost && existsSync(configFile)) {
    throw new KedgeadmUsageError(`${configFile} exists and was not written by kedgeadm; move it away or pick another --data-dir`);
  }
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromFile(kubeconfig);
  } catch (error) {
    throw new KedgeadmUsageError(`--kubeconfig ${options.kubeconfig}: ${(error as Error).message}`, { cause: error });
  }
  const all = loadClusterManifests(options.manifests ?? DEFAULT_MANIFEST_DIR, {
    advertiseAddresses: [options.advertiseAddress],
    ...(options.image ? { image: options.image } : {}),
  });
  const isPkiSecret = (kind: string | undefined, name: string): boolean => kind === 'Secret' && name === PKI_SECRET.name;
  if (!all.some(({ object }) => isPkiSecret(object.kind, object.metadata.name))) {
    throw new KedgeadmUsageError(`${options.manifests ?? DEFAULT_MANIFEST_DIR} has no Secret ${PKI_SECRET.name}: use the manifests of this kedge release`);
  }
  // on the host, cloudcore needs only its namespace and CA Secret from the cluster
  const manifests = options.cloudcoreOnHost
    ? all.filter(({ object }) => object.kind === 'Namespace' || isPkiSecret(object.kind, object.metadata.name))
    : all;

  const written = new WrittenFiles(dataDir, 'init');
  written.save(); // the record exists before the first cluster write, so a half-done init can be reset
  const applied = await applyClusterManifests(kubeConfig, manifests, {
    onApplied: (outcome) => {
      if (outcome.created) written.addClusterObject(kubeconfig, outcome.ref);
      options.onApplied?.(outcome);
    },
  });
  const store = new SecretCertificateStore({ kubeConfig, namespace: PKI_SECRET.namespace, name: PKI_SECRET.name });
  let caPem: string;
  try {
    caPem = (await loadOrCreateAuthority(store)).certPem;
  } catch (error) {
    throw new KedgeadmUsageError(`creating the CA in ${store.location}: ${apiErrorText(error, kubeConfig)}`, { cause: error });
  }
  if (options.cloudcoreOnHost) {
    written.write(
      configFile,
      cloudcoreConfigText(configFile, dataDir, options.advertiseAddress, {
        kubeAPI: { kubeconfig },
        pki: { store: 'secret', secretNamespace: PKI_SECRET.namespace, secretName: PKI_SECRET.name },
      }),
    );
  }
  return {
    mode: options.cloudcoreOnHost ? 'host' : 'cluster',
    ...(options.cloudcoreOnHost ? { configFile } : {}),
    caLocation: store.location,
    caHash: caCertificateHash(caPem),
    files: [...written.files],
    applied,
  };
}

async function initEmbedded(dataDir: string, options: InitOptions): Promise<InitResult> {
  const configFile = join(dataDir, 'cloudcore.yaml');
  if (existsSync(configFile)) throw new KedgeadmUsageError(`${configFile} exists and was not written by kedgeadm; move it away or pick another --data-dir`);
  const written = new WrittenFiles(dataDir, 'init');
  const pkiDir = join(dataDir, 'pki');
  const caExisted = existsSync(join(pkiDir, CA_CERT_FILE));
  // the CA key mints node identities and join tokens: the data dir and pki/ are owner only
  written.ensurePrivateDir(dataDir);
  written.ensurePrivateDir(pkiDir);
  await loadOrCreateAuthority(pkiDir);
  if (!caExisted) for (const f of [CA_CERT_FILE, CA_KEY_FILE]) written.add(join(pkiDir, f));
  written.write(
    configFile,
    cloudcoreConfigText(configFile, dataDir, options.advertiseAddress, { kubeAPI: { embedded: { address: '127.0.0.1', port: 6443 } } }),
  );
  const caFile = join(pkiDir, CA_CERT_FILE);
  return {
    mode: 'embedded',
    configFile,
    caLocation: caFile,
    caHash: caCertificateHash(readFileSync(caFile, 'utf8')),
    files: [...written.files],
    applied: [],
  };
}

/**
 * cloudcore.yaml as init writes it: the common part, then where the Kubernetes API (and PKI) are;
 * checked with the schema cloudcore loads it with, so init never writes a file cloudcore refuses.
 */
function cloudcoreConfigText(configFile: string, dataDir: string, advertiseAddress: string, rest: Pick<CloudCoreConfigInput, 'kubeAPI' | 'pki'>): string {
  const config: CloudCoreConfigInput = { apiVersion: 'kedge.io/v1alpha1', kind: 'CloudCore', dataDir, cloudHub: { advertiseAddresses: [advertiseAddress] }, ...rest };
  const text = `# written by kedgeadm init; start with: cloudcore --config ${configFile}\n${stringify(config)}`;
  try {
    parseConfigText(text, cloudCoreConfigSchema, configFile);
  } catch (error) {
    if (error instanceof ConfigError) throw new KedgeadmUsageError(error.message, { cause: error });
    throw error;
  }
  return text;
}

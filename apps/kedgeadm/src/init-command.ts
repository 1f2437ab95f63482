// `kedgeadm init`: prepare the cloud side: cloudcore.yaml and the cluster CA.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { CA_CERT_FILE, CA_KEY_FILE, caCertificateHash, loadOrCreateAuthority } from '@kedge/pki';
import { readFileSync } from 'node:fs';
import { KedgeadmUsageError } from './token-command';
import { WrittenFiles, readWrittenFiles } from './written-files';

export interface InitOptions {
  dataDir: string;
  kubeconfig?: string;
  advertiseAddress: string;
}

export interface InitResult {
  configFile: string;
  caFile: string;
  caHash: string;
  files: string[];
}

export async function initCommand(options: InitOptions): Promise<InitResult> {
  const dataDir = resolve(options.dataDir);
  if (readWrittenFiles(dataDir)) throw new KedgeadmUsageError(`${dataDir} was already initialised; \`kedgeadm reset --prefix ${dataDir}\` undoes it`);
  const configFile = join(dataDir, 'cloudcore.yaml');
  if (existsSync(configFile)) throw new KedgeadmUsageError(`${configFile} exists and was not written by kedgeadm; move it away or pick another --data-dir`);
  if (options.kubeconfig && !existsSync(options.kubeconfig)) throw new KedgeadmUsageError(`--kubeconfig ${options.kubeconfig}: no such file`);
  const written = new WrittenFiles(dataDir, 'init');
  const pkiDir = join(dataDir, 'pki');
  const caExisted = existsSync(join(pkiDir, CA_CERT_FILE));
  written.ensureDir(pkiDir);
  await loadOrCreateAuthority(pkiDir);
  if (!caExisted) for (const f of [CA_CERT_FILE, CA_KEY_FILE]) written.add(join(pkiDir, f));
  written.write(
    configFile,
    `# written by kedgeadm init; start with: cloudcore --config ${configFile}\n${stringify({
      apiVersion: 'kedge.io/v1alpha1',
      kind: 'CloudCore',
      dataDir,
      cloudHub: { advertiseAddresses: [options.advertiseAddress] },
      kubeAPI: options.kubeconfig ? { kubeconfig: resolve(options.kubeconfig) } : { embedded: { address: '127.0.0.1', port: 6443 } },
    })}`,
  );
  const caFile = join(pkiDir, CA_CERT_FILE);
  return { configFile, caFile, caHash: caCertificateHash(readFileSync(caFile, 'utf8')), files: [...written.files] };
}

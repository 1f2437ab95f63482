// The admin kubeconfig written at start, so `kubectl --kubeconfig <dataDir>/admin.kubeconfig` just works.
import { chmod, rename, writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

export interface KubeconfigContents {
  server: string;
  caCertPem: string;
  token: string;
  clusterName?: string;
  userName?: string;
}

export function renderKubeconfig(contents: KubeconfigContents): string {
  const cluster = contents.clusterName ?? 'kedge';
  const user = contents.userName ?? 'kedge-admin';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: cluster,
        // plain HTTP (tests on loopback) has no CA, and kubectl refuses CA data for an http:// server
        cluster:
          contents.caCertPem === ''
            ? { server: contents.server }
            : { server: contents.server, 'certificate-authority-data': Buffer.from(contents.caCertPem).toString('base64') },
      },
    ],
    users: [{ name: user, user: { token: contents.token } }],
    contexts: [{ name: cluster, context: { cluster, user } }],
    'current-context': cluster,
    preferences: {},
  });
}

/** Writes atomically (temp file + rename) with mode 0600: it holds the admin token. */
export async function writeKubeconfig(path: string, contents: KubeconfigContents): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, renderKubeconfig(contents), { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

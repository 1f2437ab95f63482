// The local credential of MetaServer, all in one 0700 directory (`<dataDir>/metaserver`):
// - `token` (0600): a random bearer token, kept across restarts (scripts holding the kubeconfig keep
//   working); delete it and restart edgecore to rotate it;
// - `ca.crt`/`ca.key` and `server.crt`/`server.key`: a gateway-local CA and MetaServer's serving
//   certificate for its loopback names. TLS is not optional: kubectl (client-go) never sends a token
//   over plain HTTP, and the token must not cross even the loopback interface in clear;
// - `kubeconfig` (0600): server, CA and token for the operator's `kubectl` on the gateway, rewritten
//   at every start because the port may change.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { loadOrCreateServerCertificate } from '@kedge/pki';

export interface LocalCredential {
  token: string;
  tokenFile: string;
  /** the serving certificate and key MetaServer listens with */
  tls: { cert: string; key: string };
  /** the local CA clients trust (ca.crt) */
  caPem: string;
  caFile: string;
  dir: string;
}

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{16,512}$/;
const LOOPBACK = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] };

/** Writes `content` 0600 through a temporary file, so a reader never sees half a file or a wider mode. */
function writePrivate(file: string, content: string): void {
  const temporary = `${file}.tmp-${process.pid}`;
  writeFileSync(temporary, content, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}

function readOrCreateToken(tokenFile: string): string {
  const existing = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '';
  if (TOKEN_SHAPE.test(existing)) {
    if ((statSync(tokenFile).mode & 0o077) !== 0) chmodSync(tokenFile, 0o600);
    return existing;
  }
  const token = randomBytes(32).toString('base64url');
  writePrivate(tokenFile, `${token}\n`);
  return token;
}

/**
 * Reads (or creates) the token, the local CA and the serving certificate in `dir`. The certificate
 * names localhost, 127.0.0.1, ::1, the listen address (unless a wildcard) and `allowedHosts`; it is
 * re-issued when those change or it nears its end.
 */
export async function ensureLocalCredential(options: { dir: string; listenHost?: string; allowedHosts?: readonly string[] }): Promise<LocalCredential> {
  const { dir } = options;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
  const tokenFile = join(dir, 'token');
  const token = readOrCreateToken(tokenFile);
  const names = [...(options.allowedHosts ?? []), ...(options.listenHost === undefined || ['0.0.0.0', '::'].includes(options.listenHost) ? [] : [options.listenHost])];
  const dnsNames = [...new Set([...LOOPBACK.dnsNames, ...names.filter((name) => isIP(name) === 0).map((name) => name.toLowerCase())])];
  const ipAddresses = [...new Set([...LOOPBACK.ipAddresses, ...names.filter((name) => isIP(name) !== 0)])];
  const issued = await loadOrCreateServerCertificate(dir, { commonName: 'kedge-metaserver', dnsNames, ipAddresses });
  const caFile = join(dir, 'ca.crt');
  return { token, tokenFile, tls: { cert: issued.certPem, key: issued.keyPem }, caPem: readFileSync(caFile, 'utf8'), caFile, dir };
}

export function kubeconfigFor(serverUrl: string, caPem: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    '# written by edgecore at every start: the gateway-local, read-only MetaServer (0600, root only)',
    'clusters:',
    '- name: kedge-metaserver',
    '  cluster:',
    `    server: ${serverUrl}`,
    `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
    'users:',
    '- name: kedge-metaserver-local',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: kedge-metaserver',
    '  context:',
    '    cluster: kedge-metaserver',
    '    user: kedge-metaserver-local',
    'current-context: kedge-metaserver',
    '',
  ].join('\n');
}

/** Writes `<dir>/kubeconfig` (0600) for MetaServer at `serverUrl`; returns its path. */
export function writeLocalKubeconfig(credential: LocalCredential, serverUrl: string): string {
  const file = join(credential.dir, 'kubeconfig');
  writePrivate(file, kubeconfigFor(serverUrl, credential.caPem, credential.token));
  return file;
}

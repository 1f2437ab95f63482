// What the server proves itself with and what it trusts: the admin token and the service account
// signing key (made once, kept in the data directory) and the TLS material (a CA and a serving
// certificate, given or created and kept).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { isIP } from 'node:net';
import {
  issueServerCertificate,
  loadOrCreateAuthority,
  loadOrCreateServerCertificate,
  type CertificateAuthority,
} from '@kedge/pki';

export const ADMIN_TOKEN_FILE = 'admin-token';
export const PKI_DIRECTORY = 'pki';
export const SERVICE_ACCOUNT_KEY_FILE = 'service-account.key';

export interface TlsMaterial {
  caCertPem: string;
  certPem: string;
  keyPem: string;
}

/** TLS settings of startApiServer. */
export type ApiServerTlsOptions =
  | 'auto'
  | false
  | {
      /** the CA that signs client certificates; with its key it can also sign the serving certificate */
      ca: { certPem: string; keyPem?: string };
      /** a serving certificate; issued from `ca` when omitted (then ca.keyPem is required) */
      serving?: { certPem: string; keyPem: string };
    };

export class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
}

/** The admin token in `<dataDir>/admin-token`, created on first start (32 random bytes, hex). */
export async function loadOrCreateAdminToken(dataDir: string, given: string | undefined): Promise<string> {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  if (given !== undefined) {
    if (!/^[\x21-\x7e]{16,}$/.test(given)) throw new CredentialsError('adminToken must be at least 16 printable characters without spaces');
    return given;
  }
  try {
    const stored = (await readFile(file, 'utf8')).trim();
    if (stored !== '') return stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = randomBytes(32).toString('hex');
  await writeSecretFile(file, `${token}\n`);
  return token;
}

/** Written beside and renamed into place, so a crash never leaves half a secret behind. */
async function writeSecretFile(file: string, content: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, content, { mode: 0o600 });
  await rename(temporary, file);
}

/** The PKCS#8 PEM of the P-256 key that signs service account tokens, in `<dataDir>/service-account.key`, created on first start. */
export async function loadOrCreateServiceAccountKey(dataDir: string): Promise<string> {
  const file = join(dataDir, SERVICE_ACCOUNT_KEY_FILE);
  try {
    const stored = await readFile(file, 'utf8');
    if (stored.includes('PRIVATE KEY')) return stored;
    throw new CredentialsError(`${file} holds no PEM private key; remove it to have a new one made (tokens signed with the old key stop working)`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await writeSecretFile(file, pem);
  return pem;
}

function servingNames(host: string, extra: readonly string[]): { dnsNames: string[]; ipAddresses: string[] } {
  const names = new Set(['localhost', '127.0.0.1', ...extra]);
  if (host !== '' && host !== '0.0.0.0' && host !== '::') names.add(host);
  const all = [...names];
  return { dnsNames: all.filter((name) => isIP(name) === 0), ipAddresses: all.filter((name) => isIP(name) !== 0) };
}

export async function resolveTlsMaterial(
  options: Exclude<ApiServerTlsOptions, false>,
  dataDir: string,
  host: string,
  extraNames: readonly string[],
): Promise<TlsMaterial> {
  const names = servingNames(host, extraNames);
  if (options === 'auto') {
    const directory = join(dataDir, PKI_DIRECTORY);
    const ca = await loadOrCreateAuthority(directory, { commonName: 'kedge-apiserver-ca' });
    const serving = await loadOrCreateServerCertificate(directory, { ...names, commonName: 'kedge-apiserver' });
    return { caCertPem: ca.certPem, certPem: serving.certPem, keyPem: serving.keyPem };
  }
  if (options.serving !== undefined) {
    return { caCertPem: options.ca.certPem, certPem: options.serving.certPem, keyPem: options.serving.keyPem };
  }
  if (options.ca.keyPem === undefined) {
    throw new CredentialsError('tls.ca has no keyPem, so a serving certificate cannot be issued; pass tls.serving as well');
  }
  const ca: CertificateAuthority = { certPem: options.ca.certPem, keyPem: options.ca.keyPem };
  const serving = await issueServerCertificate(ca, { ...names, commonName: 'kedge-apiserver' });
  return { caCertPem: ca.certPem, certPem: serving.certPem, keyPem: serving.keyPem };
}

// Test PKI made with the real openssl CLI, so the transports are tested against ordinary X.509
// material rather than something a library generated for itself.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TlsMaterial } from '../src/connection';

export interface TestCertificates {
  /** PEM of the trusted CA */
  ca: string;
  /** server certificate for 127.0.0.1 and localhost */
  server: TlsMaterial;
  /** client certificate `system:node:node-a` */
  nodeA: TlsMaterial;
  /** client certificate `system:node:node-b` */
  nodeB: TlsMaterial;
  /** client certificate `system:node:node-a` issued by a CA the server does not trust */
  foreignNodeA: TlsMaterial;
  /** client certificate with a CN that names no node */
  nonNode: TlsMaterial;
  /** material with the right CA but no certificate or key, for "client without a certificate" */
  noCertificate: TlsMaterial;
  /** removes the temporary directory */
  cleanup(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function newKey(dir: string, name: string): void {
  openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`]);
}

function newCa(dir: string, name: string, commonName: string): void {
  newKey(dir, name);
  openssl(dir, [
    'req', '-x509', '-new', '-key', `${name}.key`, '-subj', `/CN=${commonName}`, '-days', '2',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-out', `${name}.crt`,
  ]);
}

function newLeaf(dir: string, name: string, ca: string, commonName: string, extensions: string[]): void {
  newKey(dir, name);
  openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${commonName}`, '-out', `${name}.csr`]);
  writeFileSync(join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
  openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`,
    '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2',
    '-extfile', `${name}.ext`, '-out', `${name}.crt`,
  ]);
}

const CLIENT_EXTENSIONS = ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth'];
const SERVER_EXTENSIONS = [
  'basicConstraints=CA:FALSE',
  'keyUsage=critical,digitalSignature',
  'extendedKeyUsage=serverAuth',
  'subjectAltName=IP:127.0.0.1,DNS:localhost',
];

export function createTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-transport-pki-'));
  const read = (file: string): string => readFileSync(join(dir, file), 'utf8');
  try {
    newCa(dir, 'ca', 'kedge test CA');
    newCa(dir, 'other-ca', 'some other CA');
    newLeaf(dir, 'server', 'ca', 'cloudcore', SERVER_EXTENSIONS);
    newLeaf(dir, 'node-a', 'ca', 'system:node:node-a', CLIENT_EXTENSIONS);
    newLeaf(dir, 'node-b', 'ca', 'system:node:node-b', CLIENT_EXTENSIONS);
    newLeaf(dir, 'foreign-node-a', 'other-ca', 'system:node:node-a', CLIENT_EXTENSIONS);
    newLeaf(dir, 'non-node', 'ca', 'kedgeadm', CLIENT_EXTENSIONS);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const ca = read('ca.crt');
  const material = (name: string): TlsMaterial => ({ cert: read(`${name}.crt`), key: read(`${name}.key`), ca });
  return {
    ca,
    server: material('server'),
    nodeA: material('node-a'),
    nodeB: material('node-b'),
    foreignNodeA: material('foreign-node-a'),
    nonNode: material('non-node'),
    noCertificate: { cert: '', key: '', ca },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

// The cloud's CA and serving certificate, kept in a CertificateStore across restarts.
import {
  createCertificateAuthority,
  issueServerCertificate,
  type CertificateAuthority,
  type CreateCertificateAuthorityOptions,
  type IssuedCertificate,
} from './authority';
import { CertificateStoreError } from './errors';
import { canonicalIpAddress, describeCertificate, isIssuedBy } from './inspect';
import { keyMatchesCertificate } from './pem';
import { DEFAULT_ROTATION_FRACTION, rotationDue } from './rotation';
import { FileCertificateStore, type CertificateStore, type StoreEntry } from './store';

export const CA_CERT_FILE = 'ca.crt';
export const CA_KEY_FILE = 'ca.key';
export const SERVER_CERT_FILE = 'server.crt';
export const SERVER_KEY_FILE = 'server.key';

export interface LoadOrCreateServerCertificateOptions {
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
  commonName?: string;
  validityDays?: number;
  /** re-issue once this fraction of the lifetime has passed; 0.8 by default */
  rotationFraction?: number;
  now?: Date;
}

/**
 * The CA in `store` (a directory or a CertificateStore), created on first start. An existing but
 * unusable CA is an error, never silently replaced: every joined edge trusts exactly this one.
 */
export async function loadOrCreateAuthority(
  store: CertificateStore | string,
  options: CreateCertificateAuthorityOptions = {},
): Promise<CertificateAuthority> {
  const target = asStore(store);
  const [certPem, keyPem] = await Promise.all([target.read(CA_CERT_FILE), target.read(CA_KEY_FILE)]);
  if (certPem === undefined && keyPem === undefined) {
    if (target.update) {
      // Two cloudcores starting together on a shared store: only the first CA is kept, and the
      // other process loads that one instead of serving with a CA nobody else knows.
      let created: CertificateAuthority | undefined;
      await target.update([CA_CERT_FILE, CA_KEY_FILE], async (current) => {
        created = undefined;
        if (current.get(CA_CERT_FILE) !== undefined || current.get(CA_KEY_FILE) !== undefined) return undefined;
        created = await createCertificateAuthority(options);
        return authorityEntries(created);
      });
      return created ?? loadOrCreateAuthority(target, options);
    }
    const ca = await createCertificateAuthority(options);
    await target.write(authorityEntries(ca));
    return ca;
  }
  if (certPem === undefined || keyPem === undefined) {
    const [present, missing] = certPem === undefined ? [CA_KEY_FILE, CA_CERT_FILE] : [CA_CERT_FILE, CA_KEY_FILE];
    throw new CertificateStoreError(
      'AUTHORITY_INCOMPLETE',
      `${target.location} has ${present} but no ${missing}; restore ${missing} from backup, or remove ${present} ` +
        'to create a new CA (every edge node must then join again)',
    );
  }
  let matches: boolean;
  try {
    matches = keyMatchesCertificate(keyPem, certPem);
  } catch (cause) {
    throw new CertificateStoreError(
      'CORRUPT_FILE',
      `${CA_CERT_FILE} or ${CA_KEY_FILE} in ${target.location} cannot be read; restore both from backup`,
      { cause },
    );
  }
  if (!matches) {
    throw new CertificateStoreError(
      'AUTHORITY_KEY_MISMATCH',
      `${CA_KEY_FILE} in ${target.location} is not the key of ${CA_CERT_FILE}; restore the matching pair from backup`,
    );
  }
  return { certPem, keyPem };
}

/**
 * The cloud's serving certificate, re-issued when missing, unreadable, not from the current CA,
 * for other names than asked, or past its rotation point.
 */
export async function loadOrCreateServerCertificate(
  store: CertificateStore | string,
  options: LoadOrCreateServerCertificateOptions,
): Promise<IssuedCertificate> {
  const target = asStore(store);
  const ca = await loadOrCreateAuthority(target);
  const [certPem, keyPem] = await Promise.all([target.read(SERVER_CERT_FILE), target.read(SERVER_KEY_FILE)]);
  if (certPem !== undefined && keyPem !== undefined && isReusable(ca, certPem, keyPem, options)) {
    return { certPem, keyPem };
  }
  const issued = await issueServerCertificate(ca, {
    commonName: options.commonName ?? 'kedge-cloudcore',
    dnsNames: options.dnsNames,
    ipAddresses: options.ipAddresses,
    validityDays: options.validityDays ?? 365,
    now: options.now,
  });
  await target.write([
    { name: SERVER_CERT_FILE, content: issued.certPem },
    { name: SERVER_KEY_FILE, content: issued.keyPem, secret: true },
  ]);
  return issued;
}

function authorityEntries(ca: CertificateAuthority): StoreEntry[] {
  return [
    { name: CA_CERT_FILE, content: ca.certPem },
    { name: CA_KEY_FILE, content: ca.keyPem, secret: true },
  ];
}

function isReusable(
  ca: CertificateAuthority,
  certPem: string,
  keyPem: string,
  options: LoadOrCreateServerCertificateOptions,
): boolean {
  try {
    if (!keyMatchesCertificate(keyPem, certPem) || !isIssuedBy(certPem, ca.certPem)) return false;
    const description = describeCertificate(certPem);
    const now = options.now ?? new Date();
    if (now < description.notBefore) return false;
    if (rotationDue(certPem, now, { fraction: options.rotationFraction ?? DEFAULT_ROTATION_FRACTION })) return false;
    return (
      sameSet(description.dnsNames, options.dnsNames.map((name) => name.toLowerCase())) &&
      sameSet(description.ipAddresses, options.ipAddresses.map(canonicalIpAddress))
    );
  } catch {
    return false; // unreadable files are replaced; they hold nothing another party depends on
  }
}

function sameSet(actual: readonly string[], wanted: readonly string[]): boolean {
  const a = new Set(actual.map((value) => value.toLowerCase()));
  const b = new Set(wanted);
  return a.size === b.size && [...a].every((value) => b.has(value));
}

export function asStore(store: CertificateStore | string): CertificateStore {
  return typeof store === 'string' ? new FileCertificateStore(store) : store;
}

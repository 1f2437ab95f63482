// PEM text in and out, and the key type this module issues: ECDSA P-256, small and fast on gateways.
import { X509Certificate, createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import { PemFormatError } from './errors';

export const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

export type PemLabel = 'CERTIFICATE' | 'CERTIFICATE REQUEST' | 'PRIVATE KEY';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\s]*?)-----END \1-----/g;

export function encodePem(label: PemLabel, der: ArrayBuffer | Uint8Array): string {
  const base64 = Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The DER of the single `label` block in `pem`; several or none is an error, not a guess. */
export function decodePem(pem: string, label: PemLabel, what: string): Buffer {
  if (typeof pem !== 'string') throw new PemFormatError(`${what} must be PEM text, got ${typeof pem}`);
  const blocks = [...pem.matchAll(PEM_BLOCK)].filter((match) => match[1] === label);
  const [block] = blocks;
  if (block === undefined || blocks.length !== 1) {
    throw new PemFormatError(
      `${what} must contain exactly one "-----BEGIN ${label}-----" block, found ${blocks.length}; ` +
        'pass the PEM file exactly as it was written',
    );
  }
  const der = Buffer.from((block[2] ?? '').replace(/\s+/g, ''), 'base64');
  if (der.length === 0) throw new PemFormatError(`${what} has an empty ${label} block`);
  return der;
}

export async function generateNodeKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

export async function privateKeyToPem(key: webcrypto.CryptoKey): Promise<string> {
  return encodePem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key));
}

/** Imports a PKCS#8 P-256 signing key, the only kind this module writes. */
export async function importSigningKeyPem(keyPem: string, what: string): Promise<webcrypto.CryptoKey> {
  const der = decodePem(keyPem, 'PRIVATE KEY', what);
  try {
    return await webcrypto.subtle.importKey('pkcs8', der, ECDSA_P256, false, ['sign']);
  } catch (cause) {
    throw new PemFormatError(`${what} is not a PKCS#8 ECDSA P-256 private key`, { cause });
  }
}

/** Node's view of a PEM certificate, for verification; fails with PemFormatError, never a raw parser error. */
export function readCertificate(certPem: string, what: string): X509Certificate {
  const der = decodePem(certPem, 'CERTIFICATE', what);
  try {
    return new X509Certificate(der);
  } catch (cause) {
    throw new PemFormatError(`${what} is not a readable X.509 certificate`, { cause });
  }
}

/** Whether `keyPem` is the private half of the public key in `certPem`. */
export function keyMatchesCertificate(keyPem: string, certPem: string): boolean {
  const certSpki = readCertificate(certPem, 'certificate').publicKey.export({ type: 'spki', format: 'der' });
  let keySpki: Buffer;
  try {
    keySpki = createPublicKey(createPrivateKey({ key: keyPem, format: 'pem' })).export({ type: 'spki', format: 'der' });
  } catch (cause) {
    throw new PemFormatError('private key is not a readable PEM key', { cause });
  }
  return keySpki.equals(certSpki);
}

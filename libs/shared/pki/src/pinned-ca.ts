// The trust decision of a join: what the certificate server answers at /ca.crt is accepted only when it
// is exactly one PEM CERTIFICATE block, that certificate is a CA, and its sha256 is the one the join
// token pins. Only that certificate, re-encoded from its DER, is returned to be trusted and stored.
//
// Why so strict: OpenSSL (and so Node's TLS `ca` option) also loads "TRUSTED CERTIFICATE" and
// "X509 CERTIFICATE" blocks. Checking the hash of one block and then trusting the whole body would let
// anyone on the path add their own CA next to the real one and intercept the token and every later
// connection with it.
import { X509Certificate, createHash } from 'node:crypto';
import { CaPinningError } from './errors';
import { encodePem } from './pem';
import type * as X509 from '@peculiar/x509';
import { loadX509 } from './x509';

export interface PinnedCaCertificate {
  /** the one certificate, re-encoded from its DER: the only thing a caller may trust or store */
  caPem: string;
  /** lowercase hex sha256 of the DER, equal to the token's pin */
  sha256: string;
}

/** a kedge CA is well under 2 KiB; a body larger than this is refused before it is parsed */
export const MAX_CA_BODY_BYTES = 64 * 1024;

// One block, 64-or-fewer-character base64 lines, LF or CRLF, only whitespace around it. The base64
// class has no "-", so no other BEGIN/END line can hide inside the block.
const SINGLE_CERTIFICATE_BLOCK =
  /^[ \t\r\n]*-----BEGIN CERTIFICATE-----\r?\n((?:[A-Za-z0-9+/=]{1,76}\r?\n)+)-----END CERTIFICATE-----[ \t\r\n]*$/;
const ANY_BEGIN_LINE = /-----BEGIN ([^\r\n-]{0,64})-----/g;

/**
 * Checks the body served at `source` (e.g. "https://10.0.0.5:10002/ca.crt") against the token's
 * `pinnedHash` and returns the one CA certificate to trust.
 * @throws CaPinningError: NOT_ONE_CERTIFICATE, UNREADABLE_CERTIFICATE, HASH_MISMATCH or NOT_A_CA
 */
export async function pinCaCertificate(body: string | Buffer, pinnedHash: string, source: string): Promise<PinnedCaCertificate> {
  const expectedHash = pinnedHash.toLowerCase();
  const refuse = (code: ConstructorParameters<typeof CaPinningError>[0], detail: string, extra: { actualHash?: string; cause?: unknown } = {}) =>
    new CaPinningError(
      code,
      `refusing to join: ${source} ${detail}; nothing was trusted, sent or stored. ` +
        'Check that the address is cloudcore\'s certificate port (default 10002) and that nothing on the path alters the answer',
      { expectedHash, ...extra },
    );

  const byteLength = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (byteLength > MAX_CA_BODY_BYTES) {
    throw refuse('NOT_ONE_CERTIFICATE', `answered ${byteLength} bytes, more than the ${MAX_CA_BODY_BYTES} a CA certificate can take`);
  }
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const block = SINGLE_CERTIFICATE_BLOCK.exec(text);
  const base64 = block?.[1]?.replace(/\r?\n/g, '') ?? '';
  const der = Buffer.from(base64, 'base64');
  // canonical base64 only, so that exactly these bytes are what was hashed and what is stored
  if (block === null || der.length === 0 || der.toString('base64') !== base64) {
    throw refuse('NOT_ONE_CERTIFICATE', `must answer with exactly one PEM "CERTIFICATE" block and nothing else, but it answered ${describeBody(text)}`);
  }

  const x509 = await loadX509();
  let certificate: X509.X509Certificate;
  try {
    // both parsers must accept it: OpenSSL's is the one TLS will use, and it must not read more or less than the DER
    if (!new X509Certificate(der).raw.equals(der)) throw new Error('the DER has bytes after the certificate');
    certificate = new x509.X509Certificate(der);
  } catch (cause) {
    throw refuse('UNREADABLE_CERTIFICATE', 'answered a CERTIFICATE block that is not a readable X.509 certificate', { cause });
  }

  const actualHash = createHash('sha256').update(der).digest('hex');
  if (actualHash !== expectedHash) {
    throw new CaPinningError(
      'HASH_MISMATCH',
      `refusing to join: the CA certificate served by ${source} has sha256 ${actualHash}, but the join token pins ${expectedHash}. ` +
        'The token is for another cluster, or someone is intercepting the connection; the token was not sent. ' +
        'Check the server address, or get a token from this cluster with `kedgeadm token`',
      { expectedHash, actualHash },
    );
  }

  const basicConstraints = certificate.getExtension(x509.BasicConstraintsExtension);
  const keyUsage = certificate.getExtension(x509.KeyUsagesExtension);
  const missing = [
    ...(basicConstraints?.ca === true ? [] : ['basicConstraints cA=true']),
    ...(keyUsage !== null && (keyUsage.usages & x509.KeyUsageFlags.keyCertSign) !== 0 ? [] : ['keyUsage keyCertSign']),
  ];
  if (missing.length > 0) {
    throw refuse('NOT_A_CA', `served the certificate the token pins, but it is not a CA (it lacks ${missing.join(' and ')})`, { actualHash });
  }
  return { caPem: encodePem('CERTIFICATE', der), sha256: actualHash };
}

/** What the body holds instead of one certificate, for the error message (labels quoted, never the content). */
function describeBody(text: string): string {
  const labels = [...text.matchAll(ANY_BEGIN_LINE)].map((match) => JSON.stringify(match[1] ?? ''));
  if (labels.length === 0) return text.trim() === '' ? 'an empty body' : 'no PEM block';
  if (labels.length === 1 && labels[0] === '"CERTIFICATE"') return 'one CERTIFICATE block with other text around it or malformed base64 in it';
  return `${labels.length} PEM block${labels.length === 1 ? '' : 's'} (${labels.join(', ')})`;
}

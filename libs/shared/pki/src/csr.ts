// Certificate signing requests for edge nodes: made on the edge, checked by the CA.
import { createPublicKey, webcrypto } from 'node:crypto';
import { CsrRejectedError } from './errors';
import { NODE_ORGANIZATION, assertValidNodeName, nodeCommonName } from './node-name';
import { ECDSA_P256, ECDSA_SHA256, decodePem, encodePem, generateNodeKeyPair, importSigningKeyPem, privateKeyToPem } from './pem';
import { PemFormatError } from './errors';
import type * as X509 from '@peculiar/x509';
import { loadX509 } from './x509';

export interface NodeKeyAndCsr {
  /** PKCS#8 PEM; stays on the edge */
  keyPem: string;
  csrPem: string;
}

/**
 * A P-256 key and a CSR for CN `system:node:<nodeName>`, O `system:nodes`. The key is fresh, or
 * `options.keyPem` (a PKCS#8 P-256 key this module made): a join repeated after an interruption must
 * present the same key, or the cloud refuses it as another use of the token.
 */
export async function createNodeKeyAndCsr(nodeName: string, options: { keyPem?: string } = {}): Promise<NodeKeyAndCsr> {
  assertValidNodeName(nodeName);
  const keys = options.keyPem === undefined ? await generateNodeKeyPair() : await importNodeKeyPair(options.keyPem);
  const x509 = await loadX509();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ O: [NODE_ORGANIZATION] }, { CN: [nodeCommonName(nodeName)] }],
    keys,
    signingAlgorithm: ECDSA_SHA256,
  });
  return { keyPem: options.keyPem ?? (await privateKeyToPem(keys.privateKey)), csrPem: encodePem('CERTIFICATE REQUEST', csr.rawData) };
}

async function importNodeKeyPair(keyPem: string): Promise<webcrypto.CryptoKeyPair> {
  const privateKey = await importSigningKeyPem(keyPem, 'the node key');
  const spki = createPublicKey({ key: keyPem, format: 'pem' }).export({ type: 'spki', format: 'der' });
  const publicKey = await webcrypto.subtle.importKey('spki', spki, ECDSA_P256, true, ['verify']);
  return { privateKey, publicKey };
}

/** Parses a CSR and checks that it is self-signed by its key and asks for exactly this node. */
export async function readNodeCsr(csrPem: string, nodeName: string): Promise<X509.Pkcs10CertificateRequest> {
  assertValidNodeName(nodeName);
  const x509 = await loadX509();
  let csr: X509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(decodePem(csrPem, 'CERTIFICATE REQUEST', 'CSR'));
  } catch (cause) {
    const detail = cause instanceof PemFormatError ? cause.message : 'its DER is not a PKCS#10 request';
    throw new CsrRejectedError(
      'MALFORMED_CSR',
      `certificate signing request cannot be read (${detail}); send the PEM made by createNodeKeyAndCsr`,
      { cause },
    );
  }
  let signatureValid = false;
  try {
    signatureValid = await csr.verify();
  } catch (cause) {
    throw new CsrRejectedError('BAD_CSR_SIGNATURE', 'certificate signing request signature cannot be checked; generate a new CSR', {
      cause,
    });
  }
  if (!signatureValid) {
    throw new CsrRejectedError(
      'BAD_CSR_SIGNATURE',
      'certificate signing request is not signed by its own key (altered in transit?); generate a new CSR',
    );
  }
  assertSupportedKey(csr);
  const expected = nodeCommonName(nodeName);
  const commonNames = csr.subjectName.getField('CN');
  if (commonNames.length !== 1 || commonNames[0] !== expected) {
    throw new CsrRejectedError(
      'SUBJECT_MISMATCH',
      `certificate signing request asks for CN ${JSON.stringify(commonNames.join(','))} but node "${nodeName}" ` +
        `may only request CN "${expected}"; create the CSR for the node name you join as`,
    );
  }
  return csr;
}

// P-256/P-384 and RSA of 2048 bits or more: what TLS stacks on gateways handle, nothing weaker.
function assertSupportedKey(csr: X509.Pkcs10CertificateRequest): void {
  let description = 'an unreadable key';
  try {
    const key = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
    const details = key.asymmetricKeyDetails ?? {};
    if (key.asymmetricKeyType === 'ec' && (details.namedCurve === 'prime256v1' || details.namedCurve === 'secp384r1')) return;
    if (key.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= 2048) return;
    description = `${key.asymmetricKeyType ?? 'unknown'} ${details.namedCurve ?? `${details.modulusLength ?? '?'}-bit`}`;
  } catch {
    // falls through to the refusal below with the generic description
  }
  throw new CsrRejectedError(
    'UNSUPPORTED_KEY',
    `certificate signing request carries ${description} key; use ECDSA P-256 (as createNodeKeyAndCsr does), P-384 or RSA ≥ 2048`,
  );
}

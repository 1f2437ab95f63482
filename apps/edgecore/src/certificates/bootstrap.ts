// First contact with the cloud: pin the CA with the hash in the join token, then trade the token
// and a CSR for a node certificate. A restarted edge with valid files never needs the token again.
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CaPinningError, PemFormatError, caCertificateHash, createNodeKeyAndCsr, parseJoinToken, pinCaCertificate } from '@kedge/pki';
import { CaHashMismatchError, CertificateServerError, NodeIdentityError } from './errors';
import { exchange, refusalError } from './https-request';
import { isCertificateFor, loadNodeIdentity, nodeIdentityStore, saveNodeIdentity, type NodeIdentity } from './node-identity';

export interface BootstrapNodeCertificateOptions {
  /** https://<cloudcore>:10002 */
  serverUrl: string;
  /** join token from `kedgeadm token`; only needed while the directory holds no valid certificate */
  token?: string;
  nodeName: string;
  /** directory for ca.crt, node.crt and node.key */
  dir: string;
  /** per request; 10 s by default */
  timeoutMs?: number;
  /** where the x509 steps run: in this process (default) or, in edgecore, its start-up helper */
  x509?: X509Steps;
}

/**
 * The steps of a join or a renewal that load @peculiar/x509 (about 4 MB of heap that a process never gives back):
 * @kedge/pki's in-process functions by default; edgecore passes its start-up helper's (x509InHelper), the same
 * functions run in a short-lived child process.
 */
export interface X509Steps {
  createNodeKeyAndCsr: typeof createNodeKeyAndCsr;
  pinCaCertificate: typeof pinCaCertificate;
}

export const X509_IN_PROCESS: X509Steps = { createNodeKeyAndCsr, pinCaCertificate };

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** the key of a join in progress (0600), reused if the join has to be repeated */
export const PENDING_KEY_FILE = 'join-pending.key';

export async function bootstrapNodeCertificate(options: BootstrapNodeCertificateOptions): Promise<NodeIdentity> {
  const store = nodeIdentityStore(options.dir);
  const stored = await loadNodeIdentity(store, options.nodeName);
  const token = options.token?.trim() ?? '';
  if (stored.state === 'valid' && !tokenPinsAnotherCa(token, stored.identity.caPem)) return stored.identity;
  if (stored.state === 'other-node') {
    throw new NodeIdentityError(
      'NODE_NAME_MISMATCH',
      `${options.dir} holds the certificate of node "${stored.storedNodeName ?? '?'}", but this edge is configured as ` +
        `"${options.nodeName}"; fix the node name, or remove the files in ${options.dir} to join as "${options.nodeName}"`,
    );
  }
  if (token === '') {
    const why =
      stored.state === 'expired'
        ? `the node certificate expired at ${stored.notAfter.toISOString()}`
        : stored.state === 'unusable'
          ? `the stored certificate is unusable: ${stored.reason}`
          : 'there is no node certificate yet';
    throw new NodeIdentityError(
      'NOT_BOOTSTRAPPED',
      `cannot join: ${why} in ${options.dir} and no join token was given; get one with \`kedgeadm token create --node ${options.nodeName}\` and pass it once (--token-file)`,
    );
  }
  const identity = await joinWithToken(options, token);
  await saveNodeIdentity(store, identity);
  await unlink(join(options.dir, PENDING_KEY_FILE)).catch(() => undefined);
  return identity;
}

async function joinWithToken(options: BootstrapNodeCertificateOptions, token: string): Promise<NodeIdentity> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const { caHash } = parseJoinToken(token);
  const x509 = options.x509 ?? X509_IN_PROCESS;

  // Not verified by TLS on purpose: we have no CA yet. The hash check below is the trust decision,
  // and nothing secret travels on this connection.
  const caResponse = await exchange({
    serverUrl: options.serverUrl,
    path: 'ca.crt',
    method: 'GET',
    headers: { Accept: 'text/plain' },
    trustedCaPem: undefined,
    timeoutMs,
  });
  if (caResponse.status !== 200) throw refusalError(options.serverUrl, caResponse);
  // exactly one CERTIFICATE block that is a CA with the pinned hash; only that, re-encoded, is trusted and stored
  let caPem: string;
  try {
    caPem = (await x509.pinCaCertificate(caResponse.body, caHash, `${options.serverUrl}/ca.crt`)).caPem;
  } catch (error) {
    if (!(error instanceof CaPinningError)) throw error;
    if (error.code === 'HASH_MISMATCH') throw new CaHashMismatchError(options.serverUrl, caHash, error.actualHash ?? '');
    throw new CertificateServerError('BAD_RESPONSE', error.message, { cause: error });
  }

  // The key is kept before the request: if the answer is lost (or edgecore dies before storing
  // the certificate), the next start repeats the join with the same key, which the cloud accepts as
  // a retry; a new key would be refused as another use of the token.
  const pendingKeyFile = join(options.dir, PENDING_KEY_FILE);
  const pendingKeyPem = await readFile(pendingKeyFile, 'utf8').catch(() => undefined);
  const { keyPem, csrPem } = await x509.createNodeKeyAndCsr(options.nodeName, pendingKeyPem === undefined ? {} : { keyPem: pendingKeyPem }).catch(
    (error: unknown) => {
      // an unreadable leftover is not worth failing the join for: a fresh key it is
      if (error instanceof PemFormatError) return x509.createNodeKeyAndCsr(options.nodeName);
      throw error;
    },
  );
  if (keyPem !== pendingKeyPem) await nodeIdentityStore(options.dir).write([{ name: PENDING_KEY_FILE, content: keyPem, secret: true }]);
  const response = await exchange({
    serverUrl: options.serverUrl,
    path: 'edge.crt',
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, NodeName: options.nodeName, 'Content-Type': 'application/x-pem-file' },
    body: csrPem,
    trustedCaPem: caPem,
    timeoutMs,
  });
  if (response.status !== 200) {
    // refused, not lost: the token was not used with this key, so there is nothing to repeat
    await unlink(pendingKeyFile).catch(() => undefined);
    throw refusalError(options.serverUrl, response);
  }
  const identity = { caPem, certPem: response.body.toString('utf8'), keyPem };
  if (!isCertificateFor(identity, options.nodeName)) {
    throw new CertificateServerError(
      'BAD_RESPONSE',
      `${options.serverUrl} returned a certificate that is not a certificate of the pinned CA for node "${options.nodeName}" and this key; nothing was stored`,
    );
  }
  return identity;
}

// A token for a different CA than the stored one means the operator is moving this edge to
// another cluster: honour it instead of silently staying with the old identity.
function tokenPinsAnotherCa(token: string, storedCaPem: string): boolean {
  if (token === '') return false;
  try {
    return parseJoinToken(token).caHash !== caCertificateHash(storedCaPem);
  } catch {
    return false; // an unreadable token is not needed when the stored identity is valid
  }
}

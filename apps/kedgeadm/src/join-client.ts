// The join protocol, client side: GET /ca.crt (unverified, then pinned by the token's hash: one CA
// certificate and nothing else, see pinCaCertificate),
// POST /edge.crt with the token and a CSR over TLS verified with that CA.
import { request as httpsRequest } from 'node:https';
import { CaPinningError, createNodeKeyAndCsr, isIssuedBy, keyMatchesCertificate, ownNodeNameOf, parseJoinToken, pinCaCertificate } from '@kedge/pki';

export class JoinError extends Error {
  override readonly name = 'JoinError';
  constructor(
    readonly code: 'UNREACHABLE' | 'CA_HASH_MISMATCH' | 'REFUSED' | 'BAD_RESPONSE' | 'BAD_TOKEN',
    message: string,
  ) {
    super(message);
  }
}

export interface NodeCredentials {
  caPem: string;
  certPem: string;
  keyPem: string;
}

interface Reply {
  status: number;
  body: string;
}

function exchange(url: URL, options: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; caPem?: string; timeoutMs: number }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, {
      method: options.method,
      headers: { ...options.headers, ...(options.body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(options.body)) }) },
      agent: false,
      rejectUnauthorized: options.caPem !== undefined,
      ...(options.caPem === undefined ? {} : { ca: options.caPem }),
      timeout: options.timeoutMs,
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        new JoinError(
          'UNREACHABLE',
          `cannot reach the certificate server ${url.origin} (${error.code ?? error.message}); check --cloud and --https-port, ` +
            'that cloudcore runs, and that a firewall lets TCP through (`kedgeadm diagnose` checks the link)',
        ),
      ),
    );
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.end(options.body);
  });
}

function refusal(url: URL, reply: Reply): JoinError {
  let detail = reply.body.trim().slice(0, 300);
  try {
    const parsed = JSON.parse(reply.body) as { message?: string; error?: string };
    detail = [parsed.error, parsed.message].filter(Boolean).join(': ') || detail;
  } catch {
    // plain text body
  }
  const hint =
    (reply.status === 401 || reply.status === 403) && !detail.includes('kedgeadm token')
      ? '; the token is expired, deleted, already used or not from this cluster: create a new one with `kedgeadm token create --node <name>` on the cloud'
      : '';
  return new JoinError('REFUSED', `${url.href} answered ${reply.status}: ${detail}${hint}`);
}

/** Fetch and pin the CA, then trade the token and a fresh CSR for a node certificate. */
export async function obtainNodeCredentials(serverUrl: string, token: string, nodeName: string, timeoutMs = 10_000): Promise<NodeCredentials> {
  let caHash: string;
  try {
    caHash = parseJoinToken(token).caHash;
  } catch (error) {
    throw new JoinError('BAD_TOKEN', `--token: ${(error as Error).message}; copy the whole line printed by \`kedgeadm token\``);
  }
  const base = new URL(serverUrl.endsWith('/') ? serverUrl : `${serverUrl}/`);
  const caUrl = new URL('ca.crt', base);
  const caReply = await exchange(caUrl, { method: 'GET', headers: { Accept: 'text/plain' }, timeoutMs });
  if (caReply.status !== 200) throw refusal(caUrl, caReply);
  // exactly one CERTIFICATE block that is a CA with the pinned hash; only that, re-encoded, is trusted and written
  let caPem: string;
  try {
    caPem = (await pinCaCertificate(caReply.body, caHash, caUrl.href)).caPem;
  } catch (error) {
    if (!(error instanceof CaPinningError)) throw error;
    if (error.code === 'HASH_MISMATCH') {
      throw new JoinError(
        'CA_HASH_MISMATCH',
        `refusing to join: the CA served by ${base.origin} has sha256 ${error.actualHash ?? '?'}, but the token pins ${caHash}. ` +
          'The token is from another cluster (or the connection is intercepted); the token was not sent. ' +
          'Check --cloud, or get a token from this cluster with `kedgeadm token`',
      );
    }
    throw new JoinError('BAD_RESPONSE', `${error.message}; is ${base.origin} a cloudcore HTTPS port (--https-port, default 10002)?`);
  }
  const { keyPem, csrPem } = await createNodeKeyAndCsr(nodeName);
  const certUrl = new URL('edge.crt', base);
  const reply = await exchange(certUrl, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, NodeName: nodeName, 'Content-Type': 'application/x-pem-file' },
    body: csrPem,
    caPem,
    timeoutMs,
  });
  if (reply.status !== 200) throw refusal(certUrl, reply);
  const certPem = reply.body;
  let good = false;
  try {
    good = isIssuedBy(certPem, caPem) && ownNodeNameOf(certPem) === nodeName && keyMatchesCertificate(keyPem, certPem);
  } catch {
    good = false;
  }
  if (!good) throw new JoinError('BAD_RESPONSE', `${certUrl.href} returned a certificate that is not for node "${nodeName}" from the pinned CA; nothing was stored`);
  return { caPem, certPem, keyPem };
}

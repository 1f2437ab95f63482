// POST /edge.crt: sign a node's CSR for a node that proves who it is, either with a join token
// (first contact) or with its current certificate from this CA (rotation).
import { createHash, X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import {
  describeCertificate,
  isIssuedBy,
  isValidNodeName,
  nodeNameOf,
  signNodeCsr,
  verifyJoinToken,
  type CertificateAuthority,
  type JoinTokenClaims,
  type JoinTokenLedger,
  type RevocationList,
} from '@kedge/pki';
import { RequestRefusal, unauthorized } from './refusal';
import { readLimitedBody } from './request-body';

export const MAX_CSR_BYTES = 16 * 1024;

export interface EdgeCertificateContext {
  authority: CertificateAuthority;
  ledger: JoinTokenLedger;
  /** whether a Node of this name exists (or holds a hub session); a token never takes one over */
  nodeExists: (nodeName: string) => Promise<boolean>;
  nodeCertValidityDays: number;
  /** the revocation list as stored now; without it nothing is revoked (tests of other parts) */
  revocations?: () => Promise<RevocationList>;
}

export interface IssuedNodeCertificate {
  nodeName: string;
  certPem: string;
  serialNumber: string;
  via: 'token' | 'certificate';
}

type Credential = { via: 'token'; claims: JoinTokenClaims } | { via: 'certificate'; certPem: string };

/** A revoked certificate cannot renew itself into a valid one. */
function refuseRevoked(certPem: string, nodeName: string, revocations: RevocationList): void {
  const { serialNumber, notBefore } = describeCertificate(certPem);
  const match = revocations.check({ nodeName, serialNumber, notBefore });
  if (match === undefined) return;
  throw new RequestRefusal(
    403,
    'CERTIFICATE_REVOKED',
    `the client certificate of node "${nodeName}" was revoked at ${match.revokedAt} (${match.reason}); ` +
      'it cannot be renewed — join the node again with a new token from `kedgeadm token`',
  );
}

export async function issueEdgeCertificate(
  request: IncomingMessage,
  context: EdgeCertificateContext,
  claimNodeName: (nodeName: string) => void,
): Promise<IssuedNodeCertificate> {
  const nodeName = requestedNodeName(request);
  claimNodeName(nodeName);
  // credentials before the body: an anonymous client does not get to make us read and parse a CSR
  const credential = await authenticate(request, context, nodeName);
  const revocations = await context.revocations?.();
  if (credential.via === 'certificate' && revocations !== undefined) refuseRevoked(credential.certPem, nodeName, revocations);
  const csrPem = await readLimitedBody(request, MAX_CSR_BYTES);
  // a node whose earlier certificates were revoked gets one that starts after that revocation
  const earliestNotBefore = revocations?.earliestNotBefore(nodeName);
  const certPem = await signNodeCsr(context.authority, csrPem, {
    nodeName,
    validityDays: context.nodeCertValidityDays,
    ...(earliestNotBefore === undefined ? {} : { earliestNotBefore }),
  });
  // that start is at most a second ahead: hand the certificate out once it is valid
  const wait = (earliestNotBefore?.getTime() ?? 0) - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  if (credential.via === 'token') {
    // only now that the request is sound, so a broken request does not use up the token; the key
    // is recorded so that only the same key may repeat an interrupted join
    await context.ledger.claim(credential.claims, nodeName, {
      publicKeySha256: publicKeySha256(certPem),
      nodeExists: await nodeExists(context, nodeName),
    });
  }
  return { nodeName, certPem, serialNumber: describeCertificate(certPem).serialNumber, via: credential.via };
}

async function nodeExists(context: EdgeCertificateContext, nodeName: string): Promise<boolean> {
  try {
    return await context.nodeExists(nodeName);
  } catch (cause) {
    // fail closed: not knowing whether the node exists must not hand its name to a token
    throw new RequestRefusal(
      503,
      'NODE_CHECK_FAILED',
      `cannot check whether node "${nodeName}" already exists (the Kubernetes API did not answer); retry in a moment`,
      { cause, headers: { 'Retry-After': '5' } },
    );
  }
}

function publicKeySha256(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex');
}

function requestedNodeName(request: IncomingMessage): string {
  const header = request.headers['nodename'];
  if (typeof header !== 'string' || header === '') {
    throw new RequestRefusal(400, 'MALFORMED_REQUEST', 'the NodeName header is missing; send the name this node joins as');
  }
  const shown = JSON.stringify(header.slice(0, 64));
  if (!isValidNodeName(header)) {
    throw new RequestRefusal(
      400,
      'INVALID_NODE_NAME',
      `NodeName ${shown} is not a valid Kubernetes node name; use lowercase letters, digits, "-" and "."`,
    );
  }
  return header;
}

async function authenticate(request: IncomingMessage, context: EdgeCertificateContext, nodeName: string): Promise<Credential> {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match?.[1] === undefined) {
      throw unauthorized('NO_CREDENTIALS', 'the Authorization header must be "Bearer <join token>"; get a token with `kedgeadm token`');
    }
    return { via: 'token', claims: verifyJoinToken(context.authority, match[1], { nodeName }) };
  }
  const socket = request.socket as TLSSocket;
  const peer = socket.getPeerCertificate();
  if (peer.raw === undefined) {
    throw unauthorized(
      'NO_CREDENTIALS',
      'no join token and no client certificate; send "Authorization: Bearer <join token>" to join, or the current node certificate to rotate',
    );
  }
  const certPem = `-----BEGIN CERTIFICATE-----\n${peer.raw.toString('base64')}\n-----END CERTIFICATE-----\n`;
  // socket.authorized checks chain and dates against this CA; isIssuedBy re-checks the signature
  // so that a misconfigured `ca` option can never turn into trusting a foreign certificate
  if (!socket.authorized || !isIssuedBy(certPem, context.authority.certPem)) {
    const why = socket.authorizationError instanceof Error ? socket.authorizationError.message : String(socket.authorizationError ?? 'not issued by this CA');
    throw unauthorized(
      'CERTIFICATE_NOT_TRUSTED',
      `the client certificate is not a valid certificate of this cluster's CA (${why}); join again with a new token from \`kedgeadm token\``,
    );
  }
  const certifiedNode = await nodeNameOf(certPem);
  if (certifiedNode !== nodeName) {
    throw new RequestRefusal(
      403,
      'CERTIFICATE_FOR_ANOTHER_NODE',
      `the client certificate is for ${certifiedNode === undefined ? 'no node' : `node "${certifiedNode}"`}, not "${nodeName}"; ` +
        'a node can only renew its own certificate',
    );
  }
  return { via: 'certificate', certPem };
}

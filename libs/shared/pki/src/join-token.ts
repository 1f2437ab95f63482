// Join tokens: `<caHash>.<base64url(JSON claims)>.<base64url(HMAC-SHA256)>`.
// Unlike KubeEdge's JWT keyed with the raw CA key bytes, the MAC key is derived with HKDF, so the
// CA key is never used directly as an HMAC key, and a token can be bound to one node and one use.
import { createHmac, createPrivateKey, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CertificateAuthority } from './authority';
import { JoinTokenError } from './errors';
import { caCertificateHash } from './inspect';
import { assertValidNodeName, isValidNodeName } from './node-name';

export interface JoinTokenClaims {
  v: 1;
  /** random token id; the ledger binds it to the first node that uses it */
  jti: string;
  /** issued at, unix seconds */
  iat: number;
  /** expires at, unix seconds */
  exp: number;
  /** when present, only this node may join with the token */
  node?: string;
}

export interface ParsedJoinToken {
  caHash: string;
  claims: JoinTokenClaims;
}

export interface IssueJoinTokenOptions {
  ttlSeconds: number;
  nodeName?: string;
  now?: Date;
}

export interface VerifyJoinTokenOptions {
  nodeName: string;
  now?: Date;
}

const HKDF_INFO = 'kedge join token v1';
const MAX_TOKEN_LENGTH = 2048;
const CA_HASH = /^[0-9a-f]{64}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const JTI = /^[A-Za-z0-9_-]{16,128}$/;
const ISSUE_HINT = 'issue a new one with `kedgeadm token`';

export function issueJoinToken(ca: CertificateAuthority, options: IssueJoinTokenOptions): string {
  if (!(Number.isFinite(options.ttlSeconds) && options.ttlSeconds > 0)) {
    throw new RangeError(`ttlSeconds must be a positive number, got ${options.ttlSeconds}`);
  }
  if (options.nodeName !== undefined) assertValidNodeName(options.nodeName);
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const claims: JoinTokenClaims = {
    v: 1,
    jti: randomBytes(16).toString('base64url'),
    iat,
    exp: iat + Math.ceil(options.ttlSeconds),
    ...(options.nodeName === undefined ? {} : { node: options.nodeName }),
  };
  const caHash = caCertificateHash(ca.certPem);
  const signed = `${caHash}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${signed}.${mac(ca, caHash, signed).toString('base64url')}`;
}

/**
 * Reads a token without verifying it: the edge needs the CA hash before it has the CA, and
 * nothing read here may be trusted until verifyJoinToken has checked the MAC.
 */
export function parseJoinToken(token: string): ParsedJoinToken {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) {
    throw malformed(`expected a string of at most ${MAX_TOKEN_LENGTH} characters`);
  }
  const parts = token.trim().split('.');
  const [caHash, claimsPart, macPart] = parts;
  if (parts.length !== 3 || caHash === undefined || claimsPart === undefined || macPart === undefined) {
    throw malformed(`expected 3 parts separated by ".", got ${parts.length}`);
  }
  if (!CA_HASH.test(caHash)) throw malformed('the first part must be the 64 hex digit sha256 of the CA certificate');
  // Canonical base64url only: Buffer decoding ignores the spare bits of the last character, which
  // would otherwise let several spellings of one token pass the MAC.
  if (!isCanonicalBase64url(claimsPart) || !isCanonicalBase64url(macPart)) {
    throw malformed('claims and MAC must be canonical base64url');
  }
  if (Buffer.from(macPart, 'base64url').length !== 32) throw malformed('the MAC must be 32 bytes');
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(claimsPart, 'base64url').toString('utf8'));
  } catch (cause) {
    throw malformed('the claims are not JSON', cause);
  }
  return { caHash, claims: readClaims(decoded) };
}

/** Checks a token presented to this CA and returns its claims, or throws JoinTokenError. */
export function verifyJoinToken(ca: CertificateAuthority, token: string, options: VerifyJoinTokenOptions): JoinTokenClaims {
  assertValidNodeName(options.nodeName);
  const { caHash, claims } = parseJoinToken(token);
  const ownHash = caCertificateHash(ca.certPem);
  if (caHash !== ownHash) {
    throw new JoinTokenError(
      'WRONG_CA',
      `join token was issued for CA sha256:${caHash.slice(0, 16)}… but this cluster's CA is sha256:${ownHash.slice(0, 16)}…; ` +
        `the token belongs to another cluster (or the CA was re-created) — ${ISSUE_HINT} on this cluster`,
    );
  }
  const parts = token.trim().split('.');
  const presented = Buffer.from(parts[2] ?? '', 'base64url');
  const expected = mac(ca, ownHash, `${parts[0]}.${parts[1]}`);
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    throw new JoinTokenError(
      'BAD_SIGNATURE',
      `join token signature is not valid (forged, altered or truncated); ${ISSUE_HINT} and copy it whole`,
    );
  }
  const now = options.now ?? new Date();
  if (now.getTime() >= claims.exp * 1000) {
    throw new JoinTokenError('EXPIRED', `join token expired at ${new Date(claims.exp * 1000).toISOString()}; ${ISSUE_HINT}`);
  }
  if (claims.node !== undefined && claims.node !== options.nodeName) {
    throw new JoinTokenError(
      'WRONG_NODE',
      `join token is bound to node "${claims.node}", not "${options.nodeName}"; join as "${claims.node}" ` +
        `or issue a token for "${options.nodeName}" with \`kedgeadm token --node ${options.nodeName}\``,
    );
  }
  return claims;
}

function readClaims(value: unknown): JoinTokenClaims {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed('the claims must be a JSON object');
  const claims = value as Record<string, unknown>;
  if (claims['v'] !== 1) throw malformed(`unsupported token version ${JSON.stringify(claims['v'])}; expected 1`);
  const { jti, iat, exp, node } = claims;
  if (typeof jti !== 'string' || !JTI.test(jti)) throw malformed('the claims need a token id "jti"');
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) throw malformed('"iat" and "exp" must be unix seconds');
  if (node !== undefined && !isValidNodeName(node)) throw malformed('"node" must be a valid node name');
  return {
    v: 1,
    jti,
    iat: iat as number,
    exp: exp as number,
    ...(node === undefined ? {} : { node }),
  };
}

// HKDF over the CA's private scalar rather than its PEM bytes, so that re-encoding the key file
// (PKCS#8 <-> SEC1, with or without the public point) does not invalidate outstanding tokens.
let cachedKey: { keyPem: string; caHash: string; key: Buffer } | undefined;

function mac(ca: CertificateAuthority, caHash: string, signed: string): Buffer {
  if (cachedKey?.keyPem !== ca.keyPem || cachedKey.caHash !== caHash) {
    const jwk = createPrivateKey({ key: ca.keyPem, format: 'pem' }).export({ format: 'jwk' });
    if (typeof jwk.d !== 'string') throw new RangeError('CA private key has no private component');
    const ikm = Buffer.from(jwk.d, 'base64url');
    const key = Buffer.from(hkdfSync('sha256', ikm, Buffer.from(caHash, 'hex'), HKDF_INFO, 32));
    cachedKey = { keyPem: ca.keyPem, caHash, key };
  }
  return createHmac('sha256', cachedKey.key).update(signed).digest();
}

function isCanonicalBase64url(text: string): boolean {
  return BASE64URL.test(text) && Buffer.from(text, 'base64url').toString('base64url') === text;
}

function malformed(detail: string, cause?: unknown): JoinTokenError {
  return new JoinTokenError(
    'MALFORMED',
    `join token is malformed (${detail}); copy the whole token printed by \`kedgeadm token\`, or ${ISSUE_HINT}`,
    cause === undefined ? undefined : { cause },
  );
}

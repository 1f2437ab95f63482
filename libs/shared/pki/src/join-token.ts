// Join tokens: `<caHash>.<base64url(JSON claims)>.<base64url(HMAC-SHA256)>`.
// Unlike KubeEdge's JWT keyed with the raw CA key bytes, the MAC key is derived with HKDF, so the
// CA key is never used directly as an HMAC key. Every token is bound: to one node name, or to a name
// pattern and a count of names (batch onboarding). The cloud also keeps a ledger of issued tokens
// (token-ledger.ts), so a token can be listed, deleted and used once per node name.
import { createHmac, createPrivateKey, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CertificateAuthority } from './authority';
import { JoinTokenError } from './errors';
import { caCertificateHash } from './inspect';
import { assertValidNodeName, isValidNodeName, isValidNodePattern, nodeNameMatchesPattern } from './node-name';

/** v2: every token is bound. v1 tokens (unbound by default, no ledger record) are only parsed, never accepted. */
export interface JoinTokenClaims {
  v: 1 | 2;
  /** random token id: the ledger's key, shown by `kedgeadm token list`; not a secret (the MAC is) */
  jti: string;
  /** issued at, unix seconds */
  iat: number;
  /** expires at, unix seconds */
  exp: number;
  /** bound to exactly this node name */
  node?: string;
  /** or to node names matching this pattern (`*` = one or more of a-z 0-9 -) */
  pattern?: string;
  /** how many different node names may join with the token (1 for a node-bound token) */
  count?: number;
}

export interface ParsedJoinToken {
  caHash: string;
  claims: JoinTokenClaims;
}

export interface IssueJoinTokenOptions {
  ttlSeconds: number;
  /** bind the token to this node name; or give nodePattern and count */
  nodeName?: string;
  nodePattern?: string;
  /** with nodePattern: how many different names may join (1 to MAX_TOKEN_COUNT) */
  count?: number;
  now?: Date;
}

export interface VerifyJoinTokenOptions {
  nodeName: string;
  now?: Date;
}

/** the most names one batch token may join */
export const MAX_TOKEN_COUNT = 10_000;
/** `kedgeadm token create` without --ttl */
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

const HKDF_INFO = 'kedge join token v1';
const MAX_TOKEN_LENGTH = 2048;
const CA_HASH = /^[0-9a-f]{64}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const JTI = /^[A-Za-z0-9_-]{16,128}$/;
const ISSUE_HINT = 'create a new one with `kedgeadm token create --node <name>`';

export function issueJoinToken(ca: CertificateAuthority, options: IssueJoinTokenOptions): string {
  if (!(Number.isFinite(options.ttlSeconds) && options.ttlSeconds > 0)) {
    throw new RangeError(`ttlSeconds must be a positive number, got ${options.ttlSeconds}`);
  }
  const binding = tokenBinding(options);
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const claims: JoinTokenClaims = {
    v: 2,
    jti: randomBytes(16).toString('base64url'),
    iat,
    exp: iat + Math.ceil(options.ttlSeconds),
    ...binding,
  };
  const caHash = caCertificateHash(ca.certPem);
  const signed = `${caHash}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${signed}.${mac(ca, caHash, signed).toString('base64url')}`;
}

function tokenBinding(options: IssueJoinTokenOptions): { node: string; count: 1 } | { pattern: string; count: number } {
  if (options.nodeName !== undefined && options.nodePattern !== undefined) {
    throw new RangeError('a join token is bound to a node name or to a node pattern, not both');
  }
  if (options.nodeName !== undefined) {
    assertValidNodeName(options.nodeName);
    if (options.count !== undefined && options.count !== 1) throw new RangeError('a token bound to one node name joins it once; count must be 1');
    return { node: options.nodeName, count: 1 };
  }
  if (options.nodePattern !== undefined) {
    if (!isValidNodePattern(options.nodePattern)) {
      throw new RangeError(
        `node pattern ${JSON.stringify(options.nodePattern)} is not valid; use node-name characters and "*" with at least one other character, e.g. shop-*`,
      );
    }
    if (!isValidCount(options.count)) {
      throw new RangeError(`a pattern token needs a count of names from 1 to ${MAX_TOKEN_COUNT}, got ${String(options.count)}`);
    }
    return { pattern: options.nodePattern, count: options.count };
  }
  throw new RangeError('a join token must be bound to a node name (nodeName) or to a node pattern with a count (nodePattern, count)');
}

function isValidCount(count: unknown): count is number {
  return Number.isSafeInteger(count) && (count as number) >= 1 && (count as number) <= MAX_TOKEN_COUNT;
}

/** `node "gw-1"` or `pattern "shop-*" (20 names)`, for messages and `kedgeadm token list` */
export function describeTokenBinding(binding: { node?: string; pattern?: string; count?: number }): string {
  if (binding.node !== undefined) return `node "${binding.node}"`;
  if (binding.pattern !== undefined) return `pattern "${binding.pattern}"`;
  return 'any node (unbound)';
}

/** whether a verified token's binding admits this node name */
export function tokenAdmitsNode(binding: { node?: string; pattern?: string }, nodeName: string): boolean {
  if (binding.node !== undefined) return binding.node === nodeName;
  if (binding.pattern !== undefined) return nodeNameMatchesPattern(nodeName, binding.pattern);
  return false;
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
  if (claims.v === 1) {
    throw new JoinTokenError(
      'LEGACY_TOKEN',
      `join token ${claims.jti} was created by an older kedgeadm: it is ${claims.node === undefined ? 'not bound to a node name, ' : ''}` +
        'not in the token list and not limited to one use per key, so this cluster no longer accepts it; ' +
        'create a bound token with `kedgeadm token create --node <name>` (or `--node-pattern <pattern> --count <n>` for a batch)',
    );
  }
  const now = options.now ?? new Date();
  if (now.getTime() >= claims.exp * 1000) {
    throw new JoinTokenError('EXPIRED', `join token ${claims.jti} expired at ${new Date(claims.exp * 1000).toISOString()}; ${ISSUE_HINT}`);
  }
  if (!tokenAdmitsNode(claims, options.nodeName)) {
    const hint =
      claims.node === undefined
        ? `join as a name matching ${JSON.stringify(claims.pattern)}`
        : `join as "${claims.node}"`;
    throw new JoinTokenError(
      'WRONG_NODE',
      `join token ${claims.jti} is bound to ${describeTokenBinding(claims)}, not "${options.nodeName}"; ${hint} ` +
        `or create a token for "${options.nodeName}" with \`kedgeadm token create --node ${options.nodeName}\``,
    );
  }
  return claims;
}

function readClaims(value: unknown): JoinTokenClaims {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed('the claims must be a JSON object');
  const claims = value as Record<string, unknown>;
  const version = claims['v'];
  if (version !== 1 && version !== 2) throw malformed(`unsupported token version ${JSON.stringify(version)}; expected 2`);
  const { jti, iat, exp, node, pattern, count } = claims;
  if (typeof jti !== 'string' || !JTI.test(jti)) throw malformed('the claims need a token id "jti"');
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) throw malformed('"iat" and "exp" must be unix seconds');
  if (node !== undefined && !isValidNodeName(node)) throw malformed('"node" must be a valid node name');
  const base = { jti, iat: iat as number, exp: exp as number };
  if (version === 1) return { v: 1, ...base, ...(node === undefined ? {} : { node }) };
  // v2: exactly one binding, and a count that fits it
  if ((node === undefined) === (pattern === undefined)) throw malformed('a token is bound to exactly one of "node" or "pattern"');
  if (pattern !== undefined && !isValidNodePattern(pattern)) throw malformed('"pattern" must be a valid node pattern');
  if (!isValidCount(count) || (node !== undefined && count !== 1)) throw malformed('"count" must be 1 for a node, 1 to 10000 for a pattern');
  return node !== undefined ? { v: 2, ...base, node, count } : { v: 2, ...base, pattern: pattern as string, count };
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

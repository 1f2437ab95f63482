// Service account tokens: JWTs signed with the server's ES256 key, with kube-apiserver's claims
// (iss, sub `system:serviceaccount:<ns>:<name>`, aud, exp, iat, nbf, jti and `kubernetes.io` naming the
// namespace, the service account and the object the token is bound to). This file signs and checks
// the token itself; whether the service account still exists is the authenticator's question.
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, verify, type KeyObject } from 'node:crypto';

export const SERVICE_ACCOUNT_USER_PREFIX = 'system:serviceaccount:';
export const SERVICE_ACCOUNTS_GROUP = 'system:serviceaccounts';
export const DEFAULT_SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc';

/** Kinds a token may be bound to; the token dies with the object. */
export type BoundObjectKind = 'Pod' | 'Secret' | 'Node';

export interface ObjectBinding {
  kind: BoundObjectKind;
  name: string;
  uid: string;
}

export interface ServiceAccountIdentity {
  namespace: string;
  name: string;
  uid: string;
  boundObject?: ObjectBinding;
}

export interface VerifiedServiceAccountToken extends ServiceAccountIdentity {
  tokenId: string;
}

/** Why a token was refused; the message goes into the 401 Status. */
export class ServiceAccountTokenError extends Error {
  override readonly name = 'ServiceAccountTokenError';
}

export interface ServiceAccountTokenOptions {
  /** PKCS#8 PEM of the P-256 signing key */
  signingKeyPem: string;
  issuer: string;
  /** audiences the server accepts (a token must name one of them) */
  audiences: readonly string[];
}

// A token is three base64url parts; anything else is not a JWT and never reaches the parser.
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_TOKEN_LENGTH = 16 * 1024;
const NOT_BEFORE_LEEWAY_SECONDS = 60;
const BOUND_CLAIM: Record<BoundObjectKind, string> = { Pod: 'pod', Secret: 'secret', Node: 'node' };

export function userNameOfServiceAccount(namespace: string, name: string): string {
  return `${SERVICE_ACCOUNT_USER_PREFIX}${namespace}:${name}`;
}

export function serviceAccountGroups(namespace: string): string[] {
  return [SERVICE_ACCOUNTS_GROUP, `${SERVICE_ACCOUNTS_GROUP}:${namespace}`];
}

export function looksLikeJwt(token: string): boolean {
  return token.length <= MAX_TOKEN_LENGTH && JWT_SHAPE.test(token);
}

function base64UrlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function parseJsonPart(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new ServiceAccountTokenError(`the token's ${what} is not base64url-encoded JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ServiceAccountTokenError(`the token's ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function requiredString(value: unknown, claim: string): string {
  if (typeof value !== 'string' || value === '') throw new ServiceAccountTokenError(`the token has no ${claim} claim`);
  return value;
}

function numericDate(value: unknown, claim: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ServiceAccountTokenError(`the token's ${claim} claim is not a number`);
  return value;
}

export class ServiceAccountTokens {
  readonly issuer: string;
  readonly audiences: readonly string[];
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  /** identifies the signing key, as kube-apiserver's `kid` does, so a key change is recognisable */
  private readonly keyId: string;

  constructor(options: ServiceAccountTokenOptions) {
    if (options.audiences.length === 0) throw new Error('service account tokens need at least one accepted audience');
    this.privateKey = createPrivateKey(options.signingKeyPem);
    if (this.privateKey.asymmetricKeyType !== 'ec' || this.privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error('the service account signing key must be an EC P-256 key (ES256)');
    }
    this.publicKey = createPublicKey(this.privateKey);
    this.keyId = createHash('sha256').update(this.publicKey.export({ type: 'spki', format: 'der' })).digest('base64url');
    this.issuer = options.issuer;
    this.audiences = options.audiences;
  }

  issue(identity: ServiceAccountIdentity, options: { audiences: readonly string[]; expirationSeconds: number; now: Date }): { token: string; expiresAt: Date } {
    const issuedAt = Math.floor(options.now.getTime() / 1000);
    const expiresAt = issuedAt + options.expirationSeconds;
    const kubernetes: Record<string, unknown> = {
      namespace: identity.namespace,
      serviceaccount: { name: identity.name, uid: identity.uid },
    };
    if (identity.boundObject !== undefined) {
      kubernetes[BOUND_CLAIM[identity.boundObject.kind]] = { name: identity.boundObject.name, uid: identity.boundObject.uid };
    }
    const claims = {
      aud: [...options.audiences],
      exp: expiresAt,
      iat: issuedAt,
      iss: this.issuer,
      jti: randomUUID(),
      'kubernetes.io': kubernetes,
      nbf: issuedAt,
      sub: userNameOfServiceAccount(identity.namespace, identity.name),
    };
    const signingInput = `${base64UrlJson({ alg: 'ES256', kid: this.keyId })}.${base64UrlJson(claims)}`;
    const signature = sign('sha256', Buffer.from(signingInput), { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
    return { token: `${signingInput}.${signature.toString('base64url')}`, expiresAt: new Date(expiresAt * 1000) };
  }

  /** The service account a token speaks for; throws ServiceAccountTokenError saying what is wrong with it. */
  verify(token: string, now: Date): VerifiedServiceAccountToken {
    if (!looksLikeJwt(token)) throw new ServiceAccountTokenError('the token is not a JWT');
    const [headerPart = '', payloadPart = '', signaturePart = ''] = token.split('.');
    const header = parseJsonPart(headerPart, 'header');
    if (header['alg'] !== 'ES256') throw new ServiceAccountTokenError(`the token is signed with ${JSON.stringify(header['alg'])}, this server only accepts ES256`);
    if (header['kid'] !== undefined && header['kid'] !== this.keyId) throw new ServiceAccountTokenError('the token was signed by a key this server does not know');
    const signatureValid = verify('sha256', Buffer.from(`${headerPart}.${payloadPart}`), { key: this.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signaturePart, 'base64url'));
    if (!signatureValid) throw new ServiceAccountTokenError('the token signature is invalid');
    const claims = parseJsonPart(payloadPart, 'payload');
    if (claims['iss'] !== this.issuer) throw new ServiceAccountTokenError(`the token was issued by ${JSON.stringify(claims['iss'])}, not by ${JSON.stringify(this.issuer)}`);
    const seconds = now.getTime() / 1000;
    const expiresAt = numericDate(claims['exp'], 'exp');
    if (seconds >= expiresAt) throw new ServiceAccountTokenError(`the token expired at ${new Date(expiresAt * 1000).toISOString()}`);
    if (claims['nbf'] !== undefined && seconds + NOT_BEFORE_LEEWAY_SECONDS < numericDate(claims['nbf'], 'nbf')) {
      throw new ServiceAccountTokenError('the token is not valid yet (nbf is in the future)');
    }
    const audiences = typeof claims['aud'] === 'string' ? [claims['aud']] : Array.isArray(claims['aud']) ? claims['aud'] : [];
    if (!audiences.some((audience) => typeof audience === 'string' && this.audiences.includes(audience))) {
      throw new ServiceAccountTokenError(`the token's audiences ${JSON.stringify(audiences)} include none this server accepts (${JSON.stringify(this.audiences)})`);
    }
    return this.identityOf(claims);
  }

  private identityOf(claims: Record<string, unknown>): VerifiedServiceAccountToken {
    const kubernetes = record(claims['kubernetes.io']);
    if (kubernetes === undefined) throw new ServiceAccountTokenError('the token has no kubernetes.io claim');
    const namespace = requiredString(kubernetes['namespace'], 'kubernetes.io.namespace');
    const account = record(kubernetes['serviceaccount']);
    const name = requiredString(account?.['name'], 'kubernetes.io.serviceaccount.name');
    const uid = requiredString(account?.['uid'], 'kubernetes.io.serviceaccount.uid');
    if (claims['sub'] !== userNameOfServiceAccount(namespace, name)) {
      throw new ServiceAccountTokenError('the token subject does not match its kubernetes.io service account');
    }
    const identity: VerifiedServiceAccountToken = { namespace, name, uid, tokenId: typeof claims['jti'] === 'string' ? claims['jti'] : '' };
    for (const kind of Object.keys(BOUND_CLAIM) as BoundObjectKind[]) {
      const bound = record(kubernetes[BOUND_CLAIM[kind]]);
      if (bound === undefined) continue;
      identity.boundObject = {
        kind,
        name: requiredString(bound['name'], `kubernetes.io.${BOUND_CLAIM[kind]}.name`),
        uid: requiredString(bound['uid'], `kubernetes.io.${BOUND_CLAIM[kind]}.uid`),
      };
    }
    return identity;
  }
}

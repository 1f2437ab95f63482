// Who is calling: a bearer token from the static token table (the admin token among them), a service
// account token (a JWT this server signed, for a service account that still exists), or a client
// certificate signed by the cluster CA (CN = user, O = groups), as kube-apiserver's static-token,
// service-account and x509 authenticators do. Anything else is anonymous, which this server refuses
// with 401; a JWT that fails its checks gets a 401 saying why.
import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { unauthorized } from '@kedge/kube-core';
import {
  ServiceAccountTokenError,
  looksLikeJwt,
  serviceAccountGroups,
  userNameOfServiceAccount,
  type BoundObjectKind,
  type ServiceAccountTokens,
} from './service-account-tokens';

export interface UserInfo {
  name: string;
  groups: string[];
  /** the service account's uid for service account users */
  uid?: string;
  /** how the user proved who they are */
  via: 'token' | 'certificate' | 'serviceAccountToken';
  /** kube-apiserver's user extras; a pod-bound token names its pod (authentication.kubernetes.io/pod-name, pod-uid) */
  extra?: Record<string, string[]>;
}

/** The user extras kube-apiserver adds for a token bound to a pod (what TokenReview and SelfSubjectReview show). */
export const POD_NAME_EXTRA = 'authentication.kubernetes.io/pod-name';
export const POD_UID_EXTRA = 'authentication.kubernetes.io/pod-uid';

/** What checking service account tokens needs besides the signature: the objects they speak for, and the time. */
export interface ServiceAccountTokenCheck {
  tokens: ServiceAccountTokens;
  /** the uid of the live object, undefined when it is gone (or being deleted) */
  liveUid(kind: 'ServiceAccount' | BoundObjectKind, namespace: string, name: string): string | undefined;
  now(): Date;
}

export interface StaticToken {
  token: string;
  user: string;
  groups?: string[];
}

export const MASTERS_GROUP = 'system:masters';
export const NODES_GROUP = 'system:nodes';
export const NODE_USER_PREFIX = 'system:node:';
export const AUTHENTICATED_GROUP = 'system:authenticated';

function digest(value: string): Buffer {
  // comparing fixed-length digests keeps the comparison constant-time whatever the token length
  return hash('sha256', value, 'buffer');
}

export class Authenticator {
  private readonly tokens: { digest: Buffer; user: string; groups: string[] }[];
  /** per connection: the Authorization header that last proved a static token on it, and its user */
  private readonly connectionTokens = new WeakMap<Socket, { header: string; user: UserInfo }>();

  constructor(
    tokens: readonly StaticToken[],
    private readonly serviceAccounts?: ServiceAccountTokenCheck,
  ) {
    this.tokens = tokens.map((entry) => ({ digest: digest(entry.token), user: entry.user, groups: entry.groups ?? [] }));
  }

  /** The user, or undefined for an anonymous or unknown caller; throws 401 for a service account token that fails a check. */
  authenticate(request: IncomingMessage): UserInfo | undefined {
    const header = request.headers.authorization;
    if (header !== undefined) {
      // a keep-alive connection repeating the exact header that proved a static token on it: the same
      // user (static tokens never change while the server runs); anything else is checked in full
      const remembered = this.connectionTokens.get(request.socket);
      if (remembered !== undefined && remembered.header === header) return { ...remembered.user, groups: [...remembered.user.groups] };
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (match?.[1] === undefined) return undefined;
      const user = this.staticTokenUser(match[1]);
      if (user === undefined) return this.serviceAccountUser(match[1]);
      this.connectionTokens.set(request.socket, { header, user: { ...user, groups: [...user.groups] } });
      return user;
    }
    return certificateUser(request.socket as TLSSocket);
  }

  /** The user of a bearer token (static or service account); throws 401 for a service account token that fails a check. */
  authenticateToken(token: string): UserInfo | undefined {
    return this.staticTokenUser(token) ?? this.serviceAccountUser(token);
  }

  private staticTokenUser(token: string): UserInfo | undefined {
    const presented = digest(token);
    let found: { user: string; groups: string[] } | undefined;
    for (const entry of this.tokens) {
      if (timingSafeEqual(entry.digest, presented)) found = entry;
    }
    return found === undefined ? undefined : { name: found.user, groups: withAuthenticated(found.groups), via: 'token' };
  }

  private serviceAccountUser(token: string): UserInfo | undefined {
    const check = this.serviceAccounts;
    if (check === undefined || !looksLikeJwt(token)) return undefined;
    try {
      const identity = check.tokens.verify(token, check.now());
      const { namespace, name } = identity;
      const accountUid = check.liveUid('ServiceAccount', namespace, name);
      if (accountUid === undefined) throw new ServiceAccountTokenError(`the service account ${namespace}/${name} no longer exists`);
      if (accountUid !== identity.uid) throw new ServiceAccountTokenError(`the service account ${namespace}/${name} was recreated since the token was issued`);
      const bound = identity.boundObject;
      if (bound !== undefined && check.liveUid(bound.kind, namespace, bound.name) !== bound.uid) {
        throw new ServiceAccountTokenError(`the ${bound.kind} ${bound.name} the token is bound to no longer exists`);
      }
      const extra = bound?.kind === 'Pod' ? { extra: { [POD_NAME_EXTRA]: [bound.name], [POD_UID_EXTRA]: [bound.uid] } } : {};
      return { name: userNameOfServiceAccount(namespace, name), groups: withAuthenticated(serviceAccountGroups(namespace)), uid: accountUid, via: 'serviceAccountToken', ...extra };
    } catch (error) {
      if (error instanceof ServiceAccountTokenError) throw unauthorized(`invalid bearer token: ${error.message}`);
      throw error;
    }
  }
}

function withAuthenticated(groups: readonly string[]): string[] {
  return groups.includes(AUTHENTICATED_GROUP) ? [...groups] : [...groups, AUTHENTICATED_GROUP];
}

function asList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The user of a verified client certificate; undefined without one, or when the CA did not sign it. */
function certificateUser(socket: TLSSocket): UserInfo | undefined {
  if (typeof socket.getPeerCertificate !== 'function' || socket.authorized !== true) return undefined;
  const certificate = socket.getPeerCertificate();
  if (certificate === null || typeof certificate !== 'object' || certificate.subject === undefined) return undefined;
  const names = asList(certificate.subject.CN as string | string[] | undefined);
  const name = names[0];
  if (name === undefined || name === '' || names.length !== 1) return undefined;
  return { name, groups: withAuthenticated(asList(certificate.subject.O as string | string[] | undefined)), via: 'certificate' };
}

/** The node a user is, when it is a node identity (`system:node:<name>` in `system:nodes`). */
export function nodeNameOfUser(user: UserInfo): string | undefined {
  if (!user.groups.includes(NODES_GROUP) || !user.name.startsWith(NODE_USER_PREFIX)) return undefined;
  const node = user.name.slice(NODE_USER_PREFIX.length);
  return node === '' ? undefined : node;
}

// Who is calling: a bearer token from the static token table (the admin token among them), or a
// client certificate signed by the cluster CA (CN = user, O = groups), as kube-apiserver's x509 and
// static-token authenticators do. Anything else is anonymous, which this server refuses with 401.
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

export interface UserInfo {
  name: string;
  groups: string[];
  /** how the user proved who they are */
  via: 'token' | 'certificate';
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
  return createHash('sha256').update(value).digest();
}

export class Authenticator {
  private readonly tokens: { digest: Buffer; user: string; groups: string[] }[];

  constructor(tokens: readonly StaticToken[]) {
    this.tokens = tokens.map((entry) => ({ digest: digest(entry.token), user: entry.user, groups: entry.groups ?? [] }));
  }

  authenticate(request: IncomingMessage): UserInfo | undefined {
    const header = request.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (match?.[1] === undefined) return undefined;
      const presented = digest(match[1]);
      let found: { user: string; groups: string[] } | undefined;
      for (const entry of this.tokens) {
        if (timingSafeEqual(entry.digest, presented)) found = entry;
      }
      return found === undefined ? undefined : { name: found.user, groups: withAuthenticated(found.groups), via: 'token' };
    }
    return certificateUser(request.socket as TLSSocket);
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

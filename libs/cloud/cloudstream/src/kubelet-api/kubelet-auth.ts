// Who is calling the kubelet API, and may they: as a kubelet does it. A client certificate of the
// configured CA names the user (CN) and groups (O); a bearer token is checked with a TokenReview;
// everything is authorized with a SubjectAccessReview on `nodes/<subresource>`. Answers are cached
// briefly, so a `logs -f` reconnect loop does not become a review per request.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { clusterAccessReviews } from '@kedge/kube-client';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeletRequestError } from './kubelet-errors';

export interface KubeletCaller {
  name: string;
  groups: string[];
  uid?: string;
  via: 'certificate' | 'token';
}

export interface NodeAccess {
  /** get, create, update, patch, delete (from the HTTP method) */
  verb: string;
  /** stats, metrics, log or proxy */
  subresource: string;
  /** the node whose kubelet port was dialled */
  node: string;
}

export interface AccessDecision {
  allowed: boolean;
  reason?: string;
}

/** The two reviews the kubelet API asks the cluster for. */
export interface KubeletAuthBackend {
  /** a TokenReview: the user the token belongs to, or undefined when the cluster does not accept it */
  reviewToken(token: string): Promise<KubeletCaller | undefined>;
  /** a SubjectAccessReview on nodes/<subresource> */
  reviewAccess(caller: KubeletCaller, access: NodeAccess): Promise<AccessDecision>;
}

interface Cached<T> {
  value: T;
  expires: number;
}

const MAX_CACHE_ENTRIES = 4096;

class ExpiringCache<T> {
  private readonly entries = new Map<string, Cached<T>>();
  constructor(private readonly now: () => number) {}

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T, ttlMs: number): void {
    if (ttlMs <= 0) return;
    // a flood of distinct tokens must not grow memory: the oldest entries go first
    if (this.entries.size >= MAX_CACHE_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expires: this.now() + ttlMs });
  }
}

export interface KubeletAuthOptions {
  backend: KubeletAuthBackend;
  /** accepted answers are kept this long (default 10 s) */
  allowedTtlMs?: number;
  /** refused answers are kept this long (default 2 s) */
  deniedTtlMs?: number;
  now?: () => number;
}

export class KubeletAuth {
  private readonly tokens: ExpiringCache<KubeletCaller | null>;
  private readonly decisions: ExpiringCache<AccessDecision>;
  private readonly allowedTtlMs: number;
  private readonly deniedTtlMs: number;

  constructor(private readonly options: KubeletAuthOptions) {
    const now = options.now ?? Date.now;
    this.tokens = new ExpiringCache(now);
    this.decisions = new ExpiringCache(now);
    this.allowedTtlMs = options.allowedTtlMs ?? 10_000;
    this.deniedTtlMs = options.deniedTtlMs ?? 2_000;
  }

  /** @throws KubeletRequestError 401 without usable credentials */
  async authenticate(request: IncomingMessage): Promise<KubeletCaller> {
    const socket = request.socket as TLSSocket;
    const certificate = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
    const presented = certificate !== undefined && Object.keys(certificate).length > 0;
    if (presented && socket.authorized) {
      const subject = certificate.subject as unknown as Record<string, string | string[] | undefined>;
      const name = [subject['CN']].flat()[0] ?? '';
      const groups = [subject['O'] ?? []].flat();
      if (name !== '') return { name, groups, via: 'certificate' };
    }
    if (presented) {
      // Go's VerifyClientCertIfGiven ends the handshake here; kedge answers 401 with the reason
      throw new KubeletRequestError(401, 'bad-certificate', `Unauthorized: the client certificate is not signed by the kubelet API's client CA (${socket.authorizationError ?? 'unverified'})`);
    }
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null) throw new KubeletRequestError(401, 'no-credentials', 'Unauthorized: no client certificate and no bearer token');
    const token = match[1] ?? '';
    let caller = this.tokens.get(token);
    if (caller === undefined) {
      try {
        caller = (await this.options.backend.reviewToken(token)) ?? null;
      } catch (cause) {
        throw new KubeletRequestError(503, 'auth-unavailable', `the token cannot be checked now: TokenReview failed: ${String(cause)}`, { cause });
      }
      this.tokens.set(token, caller, caller === null ? this.deniedTtlMs : this.allowedTtlMs);
    }
    if (caller === null) throw new KubeletRequestError(401, 'bad-token', 'Unauthorized: the bearer token was not accepted by the cluster (TokenReview)');
    return caller;
  }

  /** @throws KubeletRequestError 403 naming user, verb, resource, subresource and node */
  async authorize(caller: KubeletCaller, access: NodeAccess): Promise<void> {
    const key = JSON.stringify([caller.name, [...caller.groups].sort(), caller.uid ?? '', access.verb, access.subresource, access.node]);
    let decision = this.decisions.get(key);
    if (decision === undefined) {
      try {
        decision = await this.options.backend.reviewAccess(caller, access);
      } catch (cause) {
        throw new KubeletRequestError(503, 'auth-unavailable', `the request cannot be authorized now: SubjectAccessReview failed: ${String(cause)}`, { cause });
      }
      this.decisions.set(key, decision, decision.allowed ? this.allowedTtlMs : this.deniedTtlMs);
    }
    if (!decision.allowed) {
      throw new KubeletRequestError(
        403,
        'forbidden',
        `Forbidden (user=${caller.name}, verb=${access.verb}, resource=nodes, subresource=${access.subresource}, node=${access.node})` +
          (decision.reason ? `: ${decision.reason}` : ''),
      );
    }
  }
}

/** The reviews through the cluster's API (authentication.k8s.io/v1, authorization.k8s.io/v1). */
export function clusterAuthBackend(kubeConfig: KubeConfig): KubeletAuthBackend {
  const reviews = clusterAccessReviews(kubeConfig);
  return {
    async reviewToken(token) {
      const user = await reviews.reviewToken(token);
      return user === undefined ? undefined : { ...user, via: 'token' };
    },
    reviewAccess: (caller, access) =>
      reviews.reviewAccess(caller, { verb: access.verb, group: '', version: 'v1', resource: 'nodes', subresource: access.subresource, name: access.node }),
  };
}

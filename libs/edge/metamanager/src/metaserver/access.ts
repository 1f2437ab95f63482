// Who may read MetaServer. It serves every Secret of the node, so every request but the health checks
// must (1) name a Host this server is meant to be reached by, which defeats DNS rebinding (a web page
// whose name resolves to 127.0.0.1 sends its own name as Host), and (2) carry a bearer token: either
// the local credential (a random token kept in a root-only file beside the edgecore data, the same one
// the kubeconfig edgecore writes for the operator's kubectl holds), or, when pod access is on, a pod's
// ServiceAccount token, which the caller then checks with the cloud (pod-api/pod-access.ts).
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { StatusError, unauthorized } from '@kedge/kube-core';

export type RefusalReason = 'foreign_host' | 'no_credential' | 'bad_credential' | 'cloud_unreachable' | 'forbidden';

/** What a request authenticated with: the gateway's local credential, or a bearer token to check with the cloud. */
export type Credential = { kind: 'local' } | { kind: 'bearer'; token: string };

export class AccessRefused extends Error {
  override readonly name = 'AccessRefused';
  constructor(
    readonly reason: RefusalReason,
    readonly status: StatusError,
  ) {
    super(status.message);
  }
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const WILDCARDS = new Set(['0.0.0.0', '::', '']);
/** what the refusal tells a client without a credential to do */
const CREDENTIAL_HINT =
  'MetaServer needs the local credential: on the gateway, as root, use kubectl --kubeconfig <dataDir>/metaserver/kubeconfig (default /var/lib/kedge/edgecore/metaserver/kubeconfig), or send "Authorization: Bearer <the token in <dataDir>/metaserver/token>"';

/** The host part of a Host header, lowercased, without port or IPv6 brackets; undefined when it does not parse. */
export function hostNameOf(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  const value = header.trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end < 0) return undefined;
    const rest = value.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    return value.slice(1, end);
  }
  const match = /^([a-z0-9.-]+)(:\d{1,5})?$/.exec(value);
  return match?.[1];
}

export interface AccessPolicy {
  /** the local credential: every request but the health checks must carry it as a bearer token */
  localToken: string;
  /** host names (no port) a request may name in Host, besides loopback and the listen address */
  allowedHosts?: readonly string[];
}

export class MetaServerAccess {
  readonly #token: Buffer;
  readonly #hosts: Set<string>;

  /** @param listenHost the address MetaServer listens on: a concrete address is a name it is reached by */
  constructor(policy: AccessPolicy, listenHost: string) {
    if (typeof policy.localToken !== 'string' || policy.localToken.length < 16) {
      throw new Error('MetaServer needs a local credential of at least 16 characters (localToken); edgecore creates one with ensureLocalCredential');
    }
    this.#token = Buffer.from(policy.localToken);
    const hosts = [...LOOPBACK_NAMES, ...(policy.allowedHosts ?? [])].map((host) => hostNameOf(host.includes(':') && isIP(host) === 6 ? `[${host}]` : host) ?? host.toLowerCase());
    if (!WILDCARDS.has(listenHost)) hosts.push(listenHost.toLowerCase());
    this.#hosts = new Set(hosts);
  }

  /** The host names a request may use, for the refusal message and the start log. */
  get hosts(): string[] {
    return [...this.#hosts];
  }

  /**
   * The local credential passes; with `acceptOtherTokens`, any other well-formed bearer token is handed
   * back for the caller to check (pods' ServiceAccount tokens).
   * @throws AccessRefused naming what was refused and what to do
   */
  check(request: IncomingMessage, acceptOtherTokens = false): Credential {
    const host = hostNameOf(request.headers.host);
    if (host === undefined || !this.#hosts.has(host)) {
      const shown = JSON.stringify(String(request.headers.host ?? '').slice(0, 100));
      throw new AccessRefused(
        'foreign_host',
        new StatusError(
          403,
          'Forbidden',
          `the Host header ${shown} is not an address this MetaServer is reached by (${this.hosts.join(', ')}); this refuses DNS-rebinding pages. Reach it as 127.0.0.1, or add the name to metaServer.allowedHosts in edgecore.yaml`,
        ),
      );
    }
    const authorization = request.headers.authorization;
    if (authorization === undefined || authorization === '') throw new AccessRefused('no_credential', unauthorized(`no credential: ${CREDENTIAL_HINT}`));
    const match = /^Bearer ([^\s]+)$/i.exec(authorization.trim());
    const given = match?.[1] === undefined ? undefined : Buffer.from(match[1]);
    if (given !== undefined && given.length === this.#token.length && timingSafeEqual(given, this.#token)) return { kind: 'local' };
    if (given !== undefined && acceptOtherTokens && match?.[1] !== undefined) return { kind: 'bearer', token: match[1] };
    throw new AccessRefused('bad_credential', unauthorized(`the credential is not this gateway's MetaServer token (pod ServiceAccount tokens are accepted only when metaServer.podAccess is on): ${CREDENTIAL_HINT}`));
  }
}

// Who is invoking a device method, and may they: a bearer token checked with a TokenReview, then a
// SubjectAccessReview of `create` on `devices/methods` of that Device in its namespace (group
// devices.kubeedge.io), so RBAC grants the right as for any subresource. A review that cannot be made
// is a 503, never an allow. Answers are cached briefly (a script calling in a loop is not a review per call).
import type { IncomingMessage } from 'node:http';
import { DEVICES_GROUP } from '@kedge/device-api';
import { StatusError, unauthorized } from '@kedge/kube-core';
import { clusterAccessReviews } from '@kedge/kube-client';
import type { KubeConfig } from '@kubernetes/client-node';

export const METHODS_SUBRESOURCE = 'methods';

export interface MethodCaller {
  name: string;
  groups: string[];
  uid?: string;
}

export interface MethodAccess {
  namespace: string;
  device: string;
}

export interface MethodAuthBackend {
  reviewToken(token: string): Promise<MethodCaller | undefined>;
  reviewAccess(caller: MethodCaller, access: MethodAccess): Promise<{ allowed: boolean; reason?: string }>;
}

const TTL_ALLOWED_MS = 10_000;
const TTL_DENIED_MS = 2_000;
const MAX_ENTRIES = 4096;

export class MethodAuth {
  private readonly cache = new Map<string, { value: unknown; expires: number }>();

  constructor(private readonly backend: MethodAuthBackend, private readonly now: () => number = Date.now) {}

  /** @throws StatusError 401 without an accepted bearer token, 503 when the review fails */
  async authenticate(request: IncomingMessage): Promise<MethodCaller> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    if (match === null) throw unauthorized('Unauthorized: a bearer token is required to invoke a device method (client certificates are not accepted here)');
    const token = match[1] ?? '';
    const caller = await this.cached(`t:${token}`, async () => (await this.backend.reviewToken(token)) ?? null, (v) => v !== null, 'TokenReview');
    if (caller === null) throw unauthorized('Unauthorized: the bearer token was not accepted by the cluster (TokenReview)');
    return caller;
  }

  /** @throws StatusError 403 naming user, verb, resource, subresource and device */
  async authorize(caller: MethodCaller, access: MethodAccess): Promise<void> {
    const key = `a:${JSON.stringify([caller.name, [...caller.groups].sort(), caller.uid ?? '', access.namespace, access.device])}`;
    const decision = await this.cached(key, () => this.backend.reviewAccess(caller, access), (d) => d.allowed, 'SubjectAccessReview');
    if (!decision.allowed) {
      throw new StatusError(
        403,
        'Forbidden',
        `devices.${DEVICES_GROUP} "${access.device}" is forbidden: User "${caller.name}" cannot create resource "devices/${METHODS_SUBRESOURCE}" in API group "${DEVICES_GROUP}" in the namespace "${access.namespace}"` +
          (decision.reason ? `: ${decision.reason}` : ''),
        { name: access.device, group: DEVICES_GROUP, kind: 'devices' },
      );
    }
  }

  private async cached<T>(key: string, review: () => Promise<T>, allowed: (value: T) => boolean, what: string): Promise<T> {
    const hit = this.cache.get(key);
    if (hit !== undefined && hit.expires > this.now()) return hit.value as T;
    let value: T;
    try {
      value = await review();
    } catch (cause) {
      throw new StatusError(503, 'ServiceUnavailable', `the request cannot be checked now: ${what} failed: ${String(cause)}`, undefined, { cause });
    }
    // a flood of distinct tokens must not grow memory: the oldest entries go first
    if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value ?? '');
    this.cache.set(key, { value, expires: this.now() + (allowed(value) ? TTL_ALLOWED_MS : TTL_DENIED_MS) });
    return value;
  }
}

/** The reviews through the cluster's API (authentication.k8s.io/v1, authorization.k8s.io/v1). */
export function clusterMethodAuthBackend(kubeConfig: KubeConfig): MethodAuthBackend {
  const reviews = clusterAccessReviews(kubeConfig);
  return {
    reviewToken: (token) => reviews.reviewToken(token),
    reviewAccess: (caller, access) =>
      reviews.reviewAccess(caller, { verb: 'create', group: DEVICES_GROUP, version: 'v1beta1', resource: 'devices', subresource: METHODS_SUBRESOURCE, namespace: access.namespace, name: access.device }),
  };
}

// Authorization: system:masters may do anything, node identities what the node rules allow, and every
// other user nothing (this server has no RBAC). Denials are 403 Status errors worded like Kubernetes'.
import { forbidden } from '../errors';
import type { KubeObject } from '../meta';
import type { ResourceStore } from '../store';
import { MASTERS_GROUP, nodeNameOfUser, type UserInfo } from './authentication';
import { NodeAuthorizer, type RequestAttributes } from './node-authorizer';

function scopeText(request: RequestAttributes): string {
  return request.namespace !== undefined && request.type.namespaced ? `in the namespace "${request.namespace}"` : 'at the cluster scope';
}

function denied(user: UserInfo, request: RequestAttributes, reason: string): Error {
  const resource = request.subresource === undefined ? request.type.plural : `${request.type.plural}/${request.subresource}`;
  const verb = request.verb === 'connect' ? 'create' : request.verb;
  return forbidden(
    { group: request.type.group, resource: request.type.plural },
    request.name ?? '',
    `User "${user.name}" cannot ${verb} resource "${resource}" in API group "${request.type.group}" ${scopeText(request)}: ${reason}`,
  );
}

export class Authorizer {
  private readonly nodes: NodeAuthorizer;

  constructor(store: ResourceStore) {
    this.nodes = new NodeAuthorizer(store);
  }

  /** Throws 403 unless `user` may make this request. */
  authorize(user: UserInfo, request: RequestAttributes): void {
    if (user.groups.includes(MASTERS_GROUP)) return;
    const node = nodeNameOfUser(user);
    if (node === undefined) throw denied(user, request, 'no RBAC policy matched (only system:masters and node identities are authorized)');
    const decision = this.nodes.decide(node, request);
    if (!decision.allowed) throw denied(user, request, decision.reason);
  }

  /** Admission for creates: a node may only create what is its own. */
  admitCreate(user: UserInfo, request: RequestAttributes, object: KubeObject): void {
    const node = nodeNameOfUser(user);
    if (node === undefined || user.groups.includes(MASTERS_GROUP)) return;
    const decision = this.nodes.admitCreate(node, request.type, object);
    if (!decision.allowed) throw denied(user, { ...request, name: object.metadata.name }, decision.reason);
  }

  /** Per-object filter for a node's lists and watches; undefined for everyone else. */
  objectFilter(user: UserInfo, request: RequestAttributes): ((object: KubeObject) => boolean) | undefined {
    const node = nodeNameOfUser(user);
    if (node === undefined || user.groups.includes(MASTERS_GROUP)) return undefined;
    return this.nodes.objectFilter(node, request);
  }
}

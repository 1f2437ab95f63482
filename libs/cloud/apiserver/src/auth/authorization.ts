// Authorization, in kube-apiserver's order: system:masters may do anything, node identities what the
// Node authorizer allows, and then RBAC for everyone (nodes included). Denials are 403 Status errors
// worded like Kubernetes'. Writes then pass admission on the final object: NodeRestriction for nodes
// and the RBAC escalate/bind checks (rbac-escalation.ts).
import { forbidden, pinnedFieldValue, StatusError, type KubeObject } from '@kedge/kube-core';
import type { ResourceStore } from '../registry';
import { MASTERS_GROUP, nodeNameOfUser, type UserInfo } from './authentication';
import { NodeAuthorizer, type RequestAttributes } from './node-authorizer';
import { RbacAuthorizer, type AuthorizationAttributes, type PolicyRule } from './rbac-authorizer';
import { escalationRefusal, type EscalationContext } from './rbac-escalation';

/** Why a write was refused by admission (the `reason` label of kedge_apiserver_refused_writes_total). */
export type WriteRefusalReason = 'node-restriction' | 'rbac-escalation' | 'rbac-bind';

/** A refused write, as reported to the server's metrics and log (no object contents, no credentials). */
export interface WriteRefusal {
  reason: WriteRefusalReason;
  user: string;
  /** `<plural>` or `<plural>.<group>` */
  resource: string;
  namespace: string | undefined;
  name: string;
  message: string;
}

export interface AuthorizerHooks {
  onRefused?(refusal: WriteRefusal): void;
}

/** The answer to "may this user do this", with the reason of a refusal (empty when RBAC just matched nothing). */
export type AuthorizationDecision = { allowed: true } | { allowed: false; reason: string };

function scopeText(namespace: string | undefined): string {
  return namespace !== undefined ? `in the namespace "${namespace}"` : 'at the cluster scope';
}

/** `User "x" cannot list resource "pods" in API group "" in the namespace "default"`, or `cannot get path "/metrics"`. */
export function refusalText(user: UserInfo, request: AuthorizationAttributes, reason: string): string {
  const suffix = reason === '' ? '' : `: ${reason}`;
  if (request.kind === 'nonResource') return `User "${user.name}" cannot ${request.verb} path "${request.path}"${suffix}`;
  const resource = request.subresource === undefined ? request.resource : `${request.resource}/${request.subresource}`;
  return `User "${user.name}" cannot ${request.verb} resource "${resource}" in API group "${request.apiGroup}" ${scopeText(request.namespace)}${suffix}`;
}

/** The RBAC view of a resource request: connect is `create` on the subresource; list and watch are named by a metadata.name selector. */
export function rbacAttributes(request: RequestAttributes): AuthorizationAttributes {
  const { verb, type } = request;
  const named = verb === 'list' || verb === 'watch' ? pinnedFieldValue(request.fieldSelector, 'metadata.name') : request.name;
  // a namespace is its own namespace, so a RoleBinding in it may grant access to it (as upstream's RequestInfo)
  const isNamespace = type.group === '' && type.plural === 'namespaces';
  return {
    kind: 'resource',
    verb: verb === 'connect' ? 'create' : verb,
    apiGroup: type.group,
    resource: type.plural,
    subresource: request.subresource,
    namespace: isNamespace ? request.name : type.namespaced ? request.namespace : undefined,
    name: named,
  };
}

export class Authorizer {
  private readonly nodes: NodeAuthorizer;
  private readonly rbac: RbacAuthorizer;

  private readonly escalationContext: EscalationContext;

  constructor(
    private readonly store: ResourceStore,
    private readonly hooks: AuthorizerHooks = {},
  ) {
    this.nodes = new NodeAuthorizer(store);
    this.rbac = new RbacAuthorizer(store);
    this.escalationContext = {
      // upstream asks its whole authorizer chain whether the user may escalate or bind
      allows: (user, request) => this.check(user, request).allowed,
      // and ConfirmNoEscalation compares with the user's RBAC rules alone
      rulesFor: (user, namespace) => this.rbac.rulesFor(user, namespace),
      roleRules: (kind, namespace, name) => this.rbac.roleRules(kind, namespace, name),
    };
  }

  /** Stops following role and binding changes. */
  close(): void {
    this.rbac.stop();
  }

  /** Throws 403 unless `user` may make this resource request. */
  authorize(user: UserInfo, request: RequestAttributes): void {
    const decision = this.decide(user, request);
    if (decision.allowed) return;
    const attributes = rbacAttributes(request);
    throw forbidden({ group: request.type.group, resource: request.type.plural }, request.name ?? '', refusalText(user, attributes, decision.reason));
  }

  /** Throws 403 unless `user` may request this non-resource path (discovery, /version, /metrics …). */
  authorizeNonResource(user: UserInfo, method: string, path: string): void {
    const request: AuthorizationAttributes = { kind: 'nonResource', verb: method.toLowerCase(), path };
    if (this.check(user, request).allowed) return;
    throw new StatusError(403, 'Forbidden', `forbidden: ${refusalText(user, request, '')}`, {});
  }

  decide(user: UserInfo, request: RequestAttributes): AuthorizationDecision {
    if (user.groups.includes(MASTERS_GROUP)) return { allowed: true };
    const node = nodeNameOfUser(user);
    const nodeDecision = node === undefined ? undefined : this.nodes.decide(node, request);
    if (nodeDecision?.allowed === true) return nodeDecision;
    if (this.rbac.allows(user, rbacAttributes(request))) return { allowed: true };
    return { allowed: false, reason: nodeDecision?.allowed === false ? nodeDecision.reason : '' };
  }

  /**
   * Any request in RBAC's terms, as SubjectAccessReviews ask; node rules apply when the resource is
   * one this server serves.
   */
  check(user: UserInfo, request: AuthorizationAttributes): AuthorizationDecision {
    if (user.groups.includes(MASTERS_GROUP)) return { allowed: true };
    const node = nodeNameOfUser(user);
    if (node !== undefined && request.kind === 'resource') {
      const type = this.store.catalog.findAnyVersion(request.apiGroup, request.resource);
      const verb = request.verb as RequestAttributes['verb'];
      if (type !== undefined && this.nodes.decide(node, { verb, type, subresource: request.subresource, namespace: request.namespace, name: request.name, fieldSelector: [] }).allowed) {
        return { allowed: true };
      }
    }
    return this.rbac.allows(user, request) ? { allowed: true } : { allowed: false, reason: '' };
  }

  /** The RBAC rules that apply to the user in `namespace`; incomplete for nodes, whose Node authorizer rules cannot be listed. */
  rulesFor(user: UserInfo, namespace: string | undefined): { rules: PolicyRule[]; incomplete: boolean } {
    return { rules: this.rbac.rulesFor(user, namespace), incomplete: nodeNameOfUser(user) !== undefined };
  }

  /**
   * Admission of a write the request was authorized for, on the object as it is about to be stored
   * (`previous` is the stored object, undefined for a create): a node creates only what is its own
   * (NodeRestriction), and nobody grants RBAC permissions they do not hold. Throws 403 (or 404 for a
   * binding of a missing role) naming what was refused; each refusal is reported to `onRefused`.
   */
  admitWrite(user: UserInfo, request: RequestAttributes, object: KubeObject, previous: KubeObject | undefined): void {
    if (user.groups.includes(MASTERS_GROUP)) return;
    const node = nodeNameOfUser(user);
    if (node !== undefined && previous === undefined) {
      const decision = this.nodes.admitCreate(node, request.type, object);
      if (!decision.allowed) {
        const named = { ...request, name: object.metadata.name };
        const error = forbidden({ group: request.type.group, resource: request.type.plural }, object.metadata.name ?? '', refusalText(user, rbacAttributes(named), decision.reason));
        this.refused(user, request, object, 'node-restriction', error);
      }
    }
    const escalation = escalationRefusal(this.escalationContext, user, request.type, request.name, object, previous);
    if (escalation !== undefined) this.refused(user, request, object, escalation.reason, escalation.error);
  }

  private refused(user: UserInfo, request: RequestAttributes, object: KubeObject, reason: WriteRefusalReason, error: StatusError): never {
    this.hooks.onRefused?.({
      reason,
      user: user.name,
      resource: request.type.group === '' ? request.type.plural : `${request.type.plural}.${request.type.group}`,
      namespace: object.metadata.namespace,
      name: object.metadata.name ?? '',
      message: error.message,
    });
    throw error;
  }

  /** Per-object filter for a node's lists and watches the Node authorizer allowed; undefined when nothing needs filtering. */
  objectFilter(user: UserInfo, request: RequestAttributes): ((object: KubeObject) => boolean) | undefined {
    const node = nodeNameOfUser(user);
    if (node === undefined || user.groups.includes(MASTERS_GROUP)) return undefined;
    // RBAC granted the whole list: nothing to filter
    if (this.rbac.allows(user, rbacAttributes(request))) return undefined;
    return this.nodes.objectFilter(node, request);
  }
}

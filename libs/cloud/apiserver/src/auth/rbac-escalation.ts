// No one grants through RBAC what they do not hold, after k8s.io/kubernetes/pkg/registry/rbac (the
// policy-based storage of roles and bindings): writing a Role or ClusterRole needs every permission in
// it, or the `escalate` verb on roles/clusterroles; writing a RoleBinding or ClusterRoleBinding needs
// every permission of the role it references (in the binding's scope), or the `bind` verb on that role
// (resourceNames honoured). What the writer holds is what RBAC grants it (ConfirmNoEscalation); what it
// may escalate or bind is asked of the whole authorizer. system:masters passes, as upstream's
// EscalationAllowed. An update that changes only what the garbage collector changes passes too.
import { cloneJson, forbidden, jsonEqual, notFound, stringAt, type KubeObject, type StatusError } from '@kedge/kube-core';
import type { ResourceType } from '../resources';
import { RBAC_GROUP } from '../validation';
import type { UserInfo } from './authentication';
import { compactRuleText, compactRules, coversRules } from './policy-comparator';
import { rulesOfRole, type AuthorizationAttributes, type PolicyRule } from './rbac-authorizer';

const ROLE_KINDS = new Set(['roles', 'clusterroles']);
const BINDING_KINDS = new Set(['rolebindings', 'clusterrolebindings']);

/** What the escalation check needs of the authorizer. */
export interface EscalationContext {
  /** whether the whole authorizer (nodes, RBAC) allows the request: the `escalate` and `bind` questions */
  allows(user: UserInfo, request: AuthorizationAttributes): boolean;
  /** the RBAC rules bound to the user cluster-wide and in `namespace` */
  rulesFor(user: UserInfo, namespace: string | undefined): PolicyRule[];
  /** the rules of the role a roleRef names, undefined when it does not exist */
  roleRules(kind: string, namespace: string | undefined, name: string): PolicyRule[] | undefined;
}

/** A refused write: the Status to answer with and the reason it is counted under. */
export interface EscalationRefusal {
  error: StatusError;
  reason: 'rbac-escalation' | 'rbac-bind';
}

const FULL_AUTHORITY: readonly PolicyRule[] = [
  { verbs: ['*'], apiGroups: ['*'], resources: ['*'], resourceNames: [], nonResourceURLs: [] },
  { verbs: ['*'], apiGroups: [], resources: [], resourceNames: [], nonResourceURLs: ['*'] },
];

/** A ClusterRole written with an aggregationRule it did not have before (or a changed one). */
function setsAggregationRule(object: KubeObject, previous: KubeObject | undefined): boolean {
  const rule = object['aggregationRule'];
  return rule !== undefined && rule !== null && (previous === undefined || !jsonEqual(rule, previous['aggregationRule']));
}

/** Whether a type is one of the four RBAC kinds this check guards. */
export function isRbacPolicyType(type: ResourceType): boolean {
  return type.group === RBAC_GROUP && (ROLE_KINDS.has(type.plural) || BINDING_KINDS.has(type.plural));
}

/** Upstream's IsOnlyMutatingGCFields: only ownerReferences and finalizers differ (and server-kept metadata). */
function onlyGarbageCollectorFieldsChange(next: KubeObject, previous: KubeObject): boolean {
  const strip = (object: KubeObject): KubeObject => {
    const copy = cloneJson(object);
    for (const field of ['ownerReferences', 'finalizers', 'managedFields', 'resourceVersion', 'generation', 'selfLink'] as const) delete copy.metadata[field];
    return copy;
  };
  return jsonEqual(strip(next), strip(previous));
}

function groupsText(groups: readonly string[]): string {
  return `[${groups.map((group) => JSON.stringify(group)).join(' ')}]`;
}

/** Upstream's wording, one missing rule a line, then what would let the write through. */
function escalationMessage(user: UserInfo, missing: PolicyRule[], remedy: string): string {
  const lines = [...new Set(compactRules(missing).map(compactRuleText))].sort();
  return `user ${JSON.stringify(user.name)} (groups=${groupsText(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${lines.join('\n')}\n${remedy}`;
}

/**
 * Why `user` may not write `object` (a Role, ClusterRole or binding) over `previous` (undefined for a
 * create), or undefined when it may; `urlName` is the name on the URL, as upstream's RequestInfo has it
 * (none on a POST, so only an unrestricted `escalate` rule lets a create through). Throws 404 for a
 * binding of a missing role the user may not bind, as upstream.
 */
export function escalationRefusal(
  context: EscalationContext,
  user: UserInfo,
  type: ResourceType,
  urlName: string | undefined,
  object: KubeObject,
  previous: KubeObject | undefined,
): EscalationRefusal | undefined {
  if (!isRbacPolicyType(type)) return undefined;
  if (previous !== undefined && onlyGarbageCollectorFieldsChange(object, previous)) return undefined;
  const namespace = type.namespaced ? object.metadata.namespace : undefined;
  const name = object.metadata.name ?? '';
  const resourceRef = { group: type.group, resource: type.plural };
  if (ROLE_KINDS.has(type.plural)) {
    const escalate: AuthorizationAttributes = {
      kind: 'resource', verb: 'escalate', apiGroup: type.group, resource: type.plural, subresource: undefined, namespace, name: urlName,
    };
    if (context.allows(user, escalate)) return undefined;
    const held = context.rulesFor(user, namespace);
    const { covered, missing } = coversRules(held, rulesOfRole(object));
    if (covered && setsAggregationRule(object, previous) && !coversRules(held, FULL_AUTHORITY).covered) {
      // an aggregation rule can gather any rules into the role, so only a full admin may set one (as upstream)
      const message = `user ${JSON.stringify(user.name)} must have cluster-admin privileges to use the aggregationRule, or the "escalate" verb on ${type.plural}.${type.group}`;
      return { error: forbidden(resourceRef, name, message), reason: 'rbac-escalation' };
    }
    if (covered) return undefined;
    const remedy = `(a role may grant only permissions its writer holds; hold them, or be granted the "escalate" verb on ${type.plural}.${type.group})`;
    return { error: forbidden(resourceRef, name, escalationMessage(user, missing, remedy)), reason: 'rbac-escalation' };
  }
  const roleKind = stringAt(object, ['roleRef', 'kind']) ?? '';
  const roleName = stringAt(object, ['roleRef', 'name']) ?? '';
  const roleResource = roleKind === 'ClusterRole' ? 'clusterroles' : 'roles';
  const bind: AuthorizationAttributes = {
    kind: 'resource', verb: 'bind', apiGroup: stringAt(object, ['roleRef', 'apiGroup']) ?? '', resource: roleResource, subresource: undefined, namespace, name: roleName,
  };
  if ((roleKind === 'ClusterRole' || roleKind === 'Role') && context.allows(user, bind)) return undefined;
  const rules = context.roleRules(roleKind, namespace, roleName);
  if (rules === undefined) throw notFound({ group: RBAC_GROUP, resource: roleResource }, roleName);
  const { covered, missing } = coversRules(context.rulesFor(user, namespace), rules);
  if (covered) return undefined;
  const remedy = `(a binding may grant only permissions its writer holds; hold them, or be granted the "bind" verb on ${roleResource}.${RBAC_GROUP} "${roleName}")`;
  return { error: forbidden(resourceRef, name, escalationMessage(user, missing, remedy)), reason: 'rbac-bind' };
}

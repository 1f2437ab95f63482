// RBAC after kubernetes/plugin/pkg/auth/authorizer/rbac: a request is allowed when a ClusterRoleBinding,
// or a RoleBinding in the request's namespace, binds the user (by name, by one of its groups, or as a
// service account) to a Role or ClusterRole with a rule matching the request. The roles and bindings
// are read from storage once and kept until one of them changes (a storage watch marks the snapshot
// stale, synchronously with the write, so a revoked binding stops working with the next request).
import { arrayAt, isRecord, stringAt, type KubeObject } from '@kedge/kube-core';
import type { ResourceType } from '../resources';
import type { ResourceStore } from '../registry';
import type { WatchHandle } from '../storage';
import { RBAC_GROUP } from '../validation';
import type { UserInfo } from './authentication';
import { userNameOfServiceAccount } from './service-account-tokens';

const RBAC_STORAGE_PREFIX = `/registry/${RBAC_GROUP}/`;

/** What is asked, in the terms RBAC rules use. */
export type AuthorizationAttributes =
  | {
      kind: 'resource';
      verb: string;
      apiGroup: string;
      resource: string;
      subresource: string | undefined;
      namespace: string | undefined;
      name: string | undefined;
    }
  | { kind: 'nonResource'; verb: string; path: string };

export interface PolicyRule {
  verbs: readonly string[];
  apiGroups: readonly string[];
  resources: readonly string[];
  resourceNames: readonly string[];
  nonResourceURLs: readonly string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace: string;
}

interface Binding {
  /** undefined for ClusterRoleBindings */
  namespace: string | undefined;
  roleKind: string;
  roleName: string;
  subjects: Subject[];
}

interface PolicySnapshot {
  clusterRoles: Map<string, PolicyRule[]>;
  /** by `<namespace>/<name>` */
  roles: Map<string, PolicyRule[]>;
  clusterRoleBindings: Binding[];
  roleBindingsByNamespace: Map<string, Binding[]>;
}

const strings = (object: unknown, field: string): string[] =>
  arrayAt(object, [field]).filter((entry): entry is string => typeof entry === 'string');

export function rulesOfRole(role: KubeObject): PolicyRule[] {
  return arrayAt(role, ['rules'])
    .filter(isRecord)
    .map((rule) => ({
      verbs: strings(rule, 'verbs'),
      apiGroups: strings(rule, 'apiGroups'),
      resources: strings(rule, 'resources'),
      resourceNames: strings(rule, 'resourceNames'),
      nonResourceURLs: strings(rule, 'nonResourceURLs'),
    }));
}

function bindingOf(binding: KubeObject, namespaced: boolean): Binding {
  return {
    namespace: namespaced ? binding.metadata.namespace : undefined,
    roleKind: stringAt(binding, ['roleRef', 'kind']) ?? '',
    roleName: stringAt(binding, ['roleRef', 'name']) ?? '',
    subjects: arrayAt(binding, ['subjects'])
      .filter(isRecord)
      .map((subject) => ({
        kind: typeof subject['kind'] === 'string' ? subject['kind'] : '',
        name: typeof subject['name'] === 'string' ? subject['name'] : '',
        namespace: typeof subject['namespace'] === 'string' ? subject['namespace'] : '',
      })),
  };
}

function subjectIsUser(subject: Subject, user: UserInfo, bindingNamespace: string | undefined): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === user.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      // a RoleBinding's service account subject defaults to the binding's namespace
      const namespace = subject.namespace !== '' ? subject.namespace : (bindingNamespace ?? '');
      return namespace !== '' && subject.name !== '' && user.name === userNameOfServiceAccount(namespace, subject.name);
    }
    default:
      return false;
  }
}

const matchesOrWildcard = (values: readonly string[], wanted: string): boolean => values.includes('*') || values.includes(wanted);

function resourceMatches(rule: PolicyRule, resource: string, subresource: string | undefined): boolean {
  const combined = subresource === undefined ? resource : `${resource}/${subresource}`;
  return rule.resources.some(
    (ruleResource) => ruleResource === '*' || ruleResource === combined || (subresource !== undefined && ruleResource === `*/${subresource}`),
  );
}

function nonResourceUrlMatches(rule: PolicyRule, path: string): boolean {
  return rule.nonResourceURLs.some(
    (url) => url === '*' || url === path || (url.endsWith('*') && path.startsWith(url.slice(0, -1))),
  );
}

/** Whether one rule allows the request, as rbac/v1's RuleAllows. */
export function ruleAllows(rule: PolicyRule, request: AuthorizationAttributes): boolean {
  if (!matchesOrWildcard(rule.verbs, request.verb)) return false;
  if (request.kind === 'nonResource') return nonResourceUrlMatches(rule, request.path);
  if (!matchesOrWildcard(rule.apiGroups, request.apiGroup)) return false;
  if (!resourceMatches(rule, request.resource, request.subresource)) return false;
  // a rule naming objects never matches a request without a name (create, unscoped list/watch, deletecollection)
  return rule.resourceNames.length === 0 || (request.name !== undefined && request.name !== '' && rule.resourceNames.includes(request.name));
}

export class RbacAuthorizer {
  private snapshot: PolicySnapshot | undefined;
  private readonly handle: WatchHandle;
  private readonly types: ResourceType[];

  constructor(private readonly store: ResourceStore) {
    const find = (plural: string): ResourceType => {
      const type = store.catalog.find(RBAC_GROUP, 'v1', plural);
      if (type === undefined) throw new Error(`${plural}.${RBAC_GROUP} is not served`);
      return type;
    };
    this.types = ['clusterroles', 'roles', 'clusterrolebindings', 'rolebindings'].map(find);
    this.handle = store.storage.watch(RBAC_STORAGE_PREFIX, store.storage.currentRevision(), () => {
      this.snapshot = undefined;
    });
  }

  stop(): void {
    this.handle.stop();
  }

  allows(user: UserInfo, request: AuthorizationAttributes): boolean {
    const policy = this.policy();
    for (const binding of this.bindingsIn(policy, request.kind === 'resource' ? request.namespace : undefined)) {
      if (!binding.subjects.some((subject) => subjectIsUser(subject, user, binding.namespace))) continue;
      if (this.rulesOf(policy, binding).some((rule) => ruleAllows(rule, request))) return true;
    }
    return false;
  }

  /** Every rule bound to the user cluster-wide or in `namespace` (what SelfSubjectRulesReview lists). */
  rulesFor(user: UserInfo, namespace: string | undefined): PolicyRule[] {
    const policy = this.policy();
    return this.bindingsIn(policy, namespace)
      .filter((binding) => binding.subjects.some((subject) => subjectIsUser(subject, user, binding.namespace)))
      .flatMap((binding) => this.rulesOf(policy, binding));
  }

  /** The rules of the Role (in `namespace`) or ClusterRole a roleRef names; undefined when it does not exist. */
  roleRules(kind: string, namespace: string | undefined, name: string): PolicyRule[] | undefined {
    const policy = this.policy();
    if (kind === 'ClusterRole') return policy.clusterRoles.get(name);
    if (kind === 'Role' && namespace !== undefined) return policy.roles.get(`${namespace}/${name}`);
    return undefined;
  }

  private bindingsIn(policy: PolicySnapshot, namespace: string | undefined): Binding[] {
    return [...policy.clusterRoleBindings, ...(namespace === undefined ? [] : (policy.roleBindingsByNamespace.get(namespace) ?? []))];
  }

  private rulesOf(policy: PolicySnapshot, binding: Binding): PolicyRule[] {
    if (binding.roleKind === 'ClusterRole') return policy.clusterRoles.get(binding.roleName) ?? [];
    if (binding.roleKind === 'Role' && binding.namespace !== undefined) return policy.roles.get(`${binding.namespace}/${binding.roleName}`) ?? [];
    return [];
  }

  private policy(): PolicySnapshot {
    if (this.snapshot !== undefined) return this.snapshot;
    const [clusterRoleType, roleType, clusterBindingType, bindingType] = this.types as [ResourceType, ResourceType, ResourceType, ResourceType];
    const all = (type: ResourceType): KubeObject[] => this.store.list(type, undefined, { labelSelector: [], fieldSelector: [], limit: 0 }).items;
    const snapshot: PolicySnapshot = {
      clusterRoles: new Map(all(clusterRoleType).map((role) => [role.metadata.name ?? '', rulesOfRole(role)])),
      roles: new Map(all(roleType).map((role) => [`${role.metadata.namespace ?? ''}/${role.metadata.name ?? ''}`, rulesOfRole(role)])),
      clusterRoleBindings: all(clusterBindingType).map((binding) => bindingOf(binding, false)),
      roleBindingsByNamespace: new Map(),
    };
    for (const object of all(bindingType)) {
      const binding = bindingOf(object, true);
      const list = snapshot.roleBindingsByNamespace.get(binding.namespace ?? '') ?? [];
      list.push(binding);
      snapshot.roleBindingsByNamespace.set(binding.namespace ?? '', list);
    }
    this.snapshot = snapshot;
    return snapshot;
  }
}

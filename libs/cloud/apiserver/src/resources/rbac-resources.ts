// rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding. They are stored and
// served like any built-in kind; the RBAC authorizer (auth/rbac-authorizer.ts) reads them. A
// ClusterRole's aggregationRule is stored but not acted on: no controller aggregates rules into it.
import { roleBindingTable, roleTable } from '../tables';
import {
  RBAC_GROUP,
  defaultSubjects,
  toStatusCauses,
  validateClusterRole,
  validateClusterRoleBinding,
  validateRole,
  validateRoleBinding,
} from '../validation';
import { defineBuiltin } from './builtin-type';
import type { ResourceType } from './resource-type';

export function rbacResources(): ResourceType[] {
  const common = { group: RBAC_GROUP, version: 'v1', nameRule: 'path-segment' as const };
  return [
    defineBuiltin({
      ...common, kind: 'ClusterRole', plural: 'clusterroles', namespaced: false, table: roleTable,
      validate: (object) => toStatusCauses(validateClusterRole(object)),
    }),
    defineBuiltin({
      ...common, kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false, table: roleBindingTable,
      prepareForCreate: defaultSubjects,
      prepareForUpdate: defaultSubjects,
      validate: (object, previous) => toStatusCauses(validateClusterRoleBinding(object, previous)),
    }),
    defineBuiltin({
      ...common, kind: 'Role', plural: 'roles', namespaced: true, table: roleTable,
      validate: (object) => toStatusCauses(validateRole(object)),
    }),
    defineBuiltin({
      ...common, kind: 'RoleBinding', plural: 'rolebindings', namespaced: true, table: roleBindingTable,
      prepareForCreate: defaultSubjects,
      prepareForUpdate: defaultSubjects,
      validate: (object, previous) => toStatusCauses(validateRoleBinding(object, previous)),
    }),
  ];
}

// rbac.authorization.k8s.io/v1 validation after kubernetes/pkg/apis/rbac/validation: names are path
// segments, every rule has verbs, resource rules name api groups and resources, non-resource URLs only
// in cluster roles, bindings refer to a role they may refer to and name known subject kinds, and
// roleRef never changes once a binding exists.
import { isRecord } from '@kedge/kube-core';
import type { FieldError } from './field-error';
import { fieldInvalid, fieldNotSupported, fieldRequired, pathChild, pathIndex } from './field-error';
import { validateObjectMeta } from './object-meta';
import { own, readArray, readObject, readString } from './read';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';
const SUBJECT_KINDS = ['ServiceAccount', 'User', 'Group'];

function stringList(value: unknown, path: string, errs: FieldError[]): string[] {
  const list = readArray(value, path, errs) ?? [];
  const strings: string[] = [];
  list.forEach((entry, index) => {
    const text = readString(entry, pathIndex(path, index), errs);
    if (text !== undefined) strings.push(text);
  });
  return strings;
}

function validateRule(rule: unknown, path: string, namespaced: boolean, errs: FieldError[]): void {
  const object = readObject(rule, path, errs);
  if (object === undefined) {
    if (rule === undefined || rule === null) errs.push(fieldRequired(path));
    return;
  }
  const verbs = stringList(own(object, 'verbs'), pathChild(path, 'verbs'), errs);
  const apiGroups = stringList(own(object, 'apiGroups'), pathChild(path, 'apiGroups'), errs);
  const resources = stringList(own(object, 'resources'), pathChild(path, 'resources'), errs);
  const resourceNames = stringList(own(object, 'resourceNames'), pathChild(path, 'resourceNames'), errs);
  const nonResourceURLs = stringList(own(object, 'nonResourceURLs'), pathChild(path, 'nonResourceURLs'), errs);
  if (verbs.length === 0) errs.push(fieldRequired(pathChild(path, 'verbs'), 'verbs must contain at least one value'));
  if (nonResourceURLs.length > 0) {
    if (namespaced) errs.push(fieldInvalid(pathChild(path, 'nonResourceURLs'), nonResourceURLs, 'namespaced rules cannot apply to non-resource URLs'));
    if (apiGroups.length > 0 || resources.length > 0 || resourceNames.length > 0) {
      errs.push(fieldInvalid(pathChild(path, 'nonResourceURLs'), nonResourceURLs, 'rules cannot apply to both regular resources and non-resource URLs'));
    }
    return;
  }
  if (apiGroups.length === 0) errs.push(fieldRequired(pathChild(path, 'apiGroups'), 'resource rules must supply at least one api group'));
  if (resources.length === 0) errs.push(fieldRequired(pathChild(path, 'resources'), 'resource rules must supply at least one resource'));
}

function validateRules(object: Record<string, unknown>, namespaced: boolean, errs: FieldError[]): void {
  const rules = readArray(own(object, 'rules'), 'rules', errs) ?? [];
  rules.forEach((rule, index) => validateRule(rule, pathIndex('rules', index), namespaced, errs));
}

export function validateRole(object: unknown): FieldError[] {
  if (!isRecord(object)) return [fieldRequired('metadata')];
  const errs = validateObjectMeta(own(object, 'metadata'), { namespaced: true, kind: 'Role', nameRule: 'path-segment' });
  validateRules(object, true, errs);
  return errs;
}

export function validateClusterRole(object: unknown): FieldError[] {
  if (!isRecord(object)) return [fieldRequired('metadata')];
  const errs = validateObjectMeta(own(object, 'metadata'), { namespaced: false, kind: 'ClusterRole', nameRule: 'path-segment' });
  validateRules(object, false, errs);
  const aggregation = readObject(own(object, 'aggregationRule'), 'aggregationRule', errs);
  if (aggregation !== undefined) {
    const selectors = readArray(own(aggregation, 'clusterRoleSelectors'), 'aggregationRule.clusterRoleSelectors', errs) ?? [];
    if (selectors.length === 0) errs.push(fieldRequired('aggregationRule.clusterRoleSelectors', 'at least one clusterRoleSelector required if aggregationRule is non-nil'));
  }
  return errs;
}

function validateRoleRef(object: Record<string, unknown>, namespaced: boolean, errs: FieldError[]): void {
  const roleRef = readObject(own(object, 'roleRef'), 'roleRef', errs);
  if (roleRef === undefined) {
    if (own(object, 'roleRef') === undefined || own(object, 'roleRef') === null) errs.push(fieldRequired('roleRef'));
    return;
  }
  const apiGroup = readString(own(roleRef, 'apiGroup'), 'roleRef.apiGroup', errs) ?? '';
  if (apiGroup !== RBAC_GROUP) errs.push(fieldNotSupported('roleRef.apiGroup', apiGroup, [RBAC_GROUP]));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  const kind = readString(own(roleRef, 'kind'), 'roleRef.kind', errs) ?? '';
  if (!kinds.includes(kind)) errs.push(fieldNotSupported('roleRef.kind', kind, kinds));
  const name = readString(own(roleRef, 'name'), 'roleRef.name', errs) ?? '';
  if (name === '') errs.push(fieldRequired('roleRef.name'));
}

function validateSubject(subject: unknown, path: string, namespaced: boolean, errs: FieldError[]): void {
  const object = readObject(subject, path, errs);
  if (object === undefined) {
    if (subject === undefined || subject === null) errs.push(fieldRequired(path));
    return;
  }
  const name = readString(own(object, 'name'), pathChild(path, 'name'), errs) ?? '';
  if (name === '') errs.push(fieldRequired(pathChild(path, 'name')));
  const kind = readString(own(object, 'kind'), pathChild(path, 'kind'), errs) ?? '';
  const apiGroup = readString(own(object, 'apiGroup'), pathChild(path, 'apiGroup'), errs) ?? '';
  const namespace = readString(own(object, 'namespace'), pathChild(path, 'namespace'), errs) ?? '';
  switch (kind) {
    case 'ServiceAccount':
      if (apiGroup !== '') errs.push(fieldNotSupported(pathChild(path, 'apiGroup'), apiGroup, ['']));
      if (!namespaced && namespace === '') errs.push(fieldRequired(pathChild(path, 'namespace')));
      break;
    case 'User':
    case 'Group':
      if (apiGroup !== RBAC_GROUP) errs.push(fieldNotSupported(pathChild(path, 'apiGroup'), apiGroup, [RBAC_GROUP]));
      break;
    default:
      errs.push(fieldNotSupported(pathChild(path, 'kind'), kind, SUBJECT_KINDS));
  }
}

function validateBinding(object: unknown, previous: unknown, namespaced: boolean): FieldError[] {
  const kind = namespaced ? 'RoleBinding' : 'ClusterRoleBinding';
  if (!isRecord(object)) return [fieldRequired('metadata')];
  const errs = validateObjectMeta(own(object, 'metadata'), { namespaced, kind, nameRule: 'path-segment' });
  validateRoleRef(object, namespaced, errs);
  const subjects = readArray(own(object, 'subjects'), 'subjects', errs) ?? [];
  subjects.forEach((subject, index) => validateSubject(subject, pathIndex('subjects', index), namespaced, errs));
  if (isRecord(previous) && JSON.stringify(own(previous, 'roleRef')) !== JSON.stringify(own(object, 'roleRef'))) {
    errs.push(fieldInvalid('roleRef', own(object, 'roleRef'), 'cannot change roleRef'));
  }
  return errs;
}

export function validateRoleBinding(object: unknown, previous?: unknown): FieldError[] {
  return validateBinding(object, previous, true);
}

export function validateClusterRoleBinding(object: unknown, previous?: unknown): FieldError[] {
  return validateBinding(object, previous, false);
}

/** Upstream's defaulting: User and Group subjects without apiGroup get the RBAC group. */
export function defaultSubjects(object: Record<string, unknown>): void {
  const subjects = own(object, 'subjects');
  if (!Array.isArray(subjects)) return;
  for (const subject of subjects) {
    if (isRecord(subject) && (subject['kind'] === 'User' || subject['kind'] === 'Group') && (subject['apiGroup'] ?? '') === '') {
      subject['apiGroup'] = RBAC_GROUP;
    }
  }
}

// The default roles and bindings kube-apiserver creates at start-up (its "bootstrap policy"), the part
// of it this server needs: cluster-admin for system:masters, discovery and version for every
// authenticated user, and the self reviews (`kubectl auth can-i`, `kubectl auth whoami`). They are
// created when missing and never overwritten, so an operator's changes to them stay.
import { StatusError, type KubeObject } from '@kedge/kube-core';
import type { ResourceStore } from '../registry';
import { RBAC_GROUP } from '../validation';
import { AUTHENTICATED_GROUP, MASTERS_GROUP } from './authentication';

const BOOTSTRAP_METADATA = {
  labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
  annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' },
};
// the field manager the server's own writes are recorded under
const BOOTSTRAP_MANAGER = 'kedge-apiserver';
const PUBLIC_INFO_URLS = ['/healthz', '/livez', '/readyz', '/version', '/version/'];

function clusterRole(name: string, rules: object[]): KubeObject {
  return { apiVersion: `${RBAC_GROUP}/v1`, kind: 'ClusterRole', metadata: { name, ...BOOTSTRAP_METADATA }, rules };
}

function bindingToGroups(name: string, groups: string[]): KubeObject {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name, ...BOOTSTRAP_METADATA },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name },
    subjects: groups.map((group) => ({ apiGroup: RBAC_GROUP, kind: 'Group', name: group })),
  };
}

export const BOOTSTRAP_CLUSTER_ROLES: readonly KubeObject[] = [
  clusterRole('cluster-admin', [
    { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
    { nonResourceURLs: ['*'], verbs: ['*'] },
  ]),
  clusterRole('system:discovery', [
    { nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/openapi', '/openapi/*', ...PUBLIC_INFO_URLS], verbs: ['get'] },
  ]),
  clusterRole('system:public-info-viewer', [{ nonResourceURLs: PUBLIC_INFO_URLS, verbs: ['get'] }]),
  clusterRole('system:basic-user', [
    { apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create'] },
    { apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create'] },
  ]),
];

export const BOOTSTRAP_CLUSTER_ROLE_BINDINGS: readonly KubeObject[] = [
  bindingToGroups('cluster-admin', [MASTERS_GROUP]),
  bindingToGroups('system:discovery', [AUTHENTICATED_GROUP]),
  bindingToGroups('system:public-info-viewer', [AUTHENTICATED_GROUP, 'system:unauthenticated']),
  bindingToGroups('system:basic-user', [AUTHENTICATED_GROUP]),
];

/** Creates the bootstrap roles and bindings that do not exist yet. */
export function ensureBootstrapPolicy(store: ResourceStore): void {
  const create = (plural: string, objects: readonly KubeObject[]): void => {
    const type = store.catalog.find(RBAC_GROUP, 'v1', plural);
    if (type === undefined) throw new Error(`${plural}.${RBAC_GROUP} is not served`);
    for (const object of objects) {
      if (store.find(type, undefined, object.metadata.name ?? '') !== undefined) continue;
      try {
        store.create(type, undefined, structuredClone(object), { fieldManager: BOOTSTRAP_MANAGER });
      } catch (error) {
        // another process sharing the data directory created it first
        if (!(error instanceof StatusError && error.code === 409)) throw error;
      }
    }
  };
  create('clusterroles', BOOTSTRAP_CLUSTER_ROLES);
  create('clusterrolebindings', BOOTSTRAP_CLUSTER_ROLE_BINDINGS);
}

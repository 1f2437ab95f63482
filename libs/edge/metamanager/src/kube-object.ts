// What the store and MetaServer know about the objects they hold: the stored form, and for each core
// type MetaServer serves its URL plural, kind, scope, extra field selectors and `kubectl get` columns.
// The object shape itself, its guards and the columns are @kedge/kube-core's.
import { configMapTable, endpointsTable, nodeTable, podTable, secretTable, serviceTable, type KubeObject, type TableConverter } from '@kedge/kube-core';
import { CLUSTER_SCOPED_NAMESPACE } from '@kedge/protocol';

/** One object as the store holds it. */
export interface StoredObject {
  /** edge resource type, e.g. `pod`, `node`, `device` */
  type: string;
  /** the namespace, or `null` (CLUSTER_SCOPED_NAMESPACE) for cluster-scoped objects */
  namespace: string;
  name: string;
  /** the cloud's Kubernetes resourceVersion of the stored state (decimal string) */
  resourceVersion: string;
  /** the local change-log revision that produced this state */
  localRevision: number;
  object: KubeObject;
}

export interface CoreResource {
  /** edge resource type as it appears in route.resource */
  type: string;
  /** URL segment under /api/v1 */
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  /** field selectors accepted besides metadata.name and metadata.namespace */
  extraFields: string[];
  /** the columns `kubectl get` shows */
  table: TableConverter;
}

/** The core/v1 types MetaServer serves; the store itself keeps any type. */
export const CORE_RESOURCES: readonly CoreResource[] = [
  {
    type: 'pod',
    plural: 'pods',
    singular: 'pod',
    kind: 'Pod',
    namespaced: true,
    shortNames: ['po'],
    extraFields: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP'],
    table: podTable,
  },
  { type: 'configmap', plural: 'configmaps', singular: 'configmap', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'], extraFields: [], table: configMapTable },
  { type: 'secret', plural: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true, shortNames: [], extraFields: ['type'], table: secretTable },
  { type: 'service', plural: 'services', singular: 'service', kind: 'Service', namespaced: true, shortNames: ['svc'], extraFields: [], table: serviceTable },
  { type: 'endpoints', plural: 'endpoints', singular: 'endpoints', kind: 'Endpoints', namespaced: true, shortNames: ['ep'], extraFields: [], table: endpointsTable },
  { type: 'node', plural: 'nodes', singular: 'node', kind: 'Node', namespaced: false, shortNames: ['no'], extraFields: ['spec.unschedulable'], table: nodeTable },
];

const BY_PLURAL = new Map(CORE_RESOURCES.map((resource) => [resource.plural, resource]));
const BY_TYPE = new Map(CORE_RESOURCES.map((resource) => [resource.type, resource]));

export function coreResourceByPlural(plural: string): CoreResource | undefined {
  return BY_PLURAL.get(plural);
}

export function coreResourceByType(type: string): CoreResource | undefined {
  return BY_TYPE.get(type);
}

/** Store namespace for an API namespace: cluster-scoped objects live under KubeEdge's `null`. */
export function storeNamespace(namespace: string | undefined): string {
  return namespace === undefined || namespace === '' ? CLUSTER_SCOPED_NAMESPACE : namespace;
}

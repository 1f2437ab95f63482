// The few facts about Kubernetes objects the store and MetaServer need: the object shape they read,
// and for each core type MetaServer serves its URL plural, kind and scope.
import { CLUSTER_SCOPED_NAMESPACE } from '@kedge/protocol';

export interface KubeObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: KubeObjectMeta;
  [key: string]: unknown;
}

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
  },
  { type: 'configmap', plural: 'configmaps', singular: 'configmap', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'], extraFields: [] },
  { type: 'secret', plural: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true, shortNames: [], extraFields: ['type'] },
  { type: 'service', plural: 'services', singular: 'service', kind: 'Service', namespaced: true, shortNames: ['svc'], extraFields: [] },
  { type: 'endpoints', plural: 'endpoints', singular: 'endpoints', kind: 'Endpoints', namespaced: true, shortNames: ['ep'], extraFields: [] },
  { type: 'node', plural: 'nodes', singular: 'node', kind: 'Node', namespaced: false, shortNames: ['no'], extraFields: ['spec.unschedulable'] },
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

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

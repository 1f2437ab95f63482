// The objects the controller moves, the keys it indexes them by and the resourceVersion arithmetic.
// Keys are `<type>/<namespace>/<name>` with namespace `null` for cluster-scoped objects, exactly
// the segments of the edge resource string, so a key maps 1:1 to what the edge stores.
// Objects are @kedge/kube-core's KubeObject: JSON exactly as the API server wrote it.
import type { KubeObject, ObjectMeta } from '@kedge/kube-core';
import { CLUSTER_SCOPED_NAMESPACE } from '@kedge/protocol';
import { EdgeControllerError } from './errors';

/** The object types pushed down to edges, named as on the wire. */
export const SYNC_TYPES = ['node', 'pod', 'configmap', 'secret', 'service', 'endpoints'] as const;
export type SyncType = (typeof SYNC_TYPES)[number];

export const KIND_BY_TYPE: Record<SyncType, { apiVersion: string; kind: string }> = {
  node: { apiVersion: 'v1', kind: 'Node' },
  pod: { apiVersion: 'v1', kind: 'Pod' },
  configmap: { apiVersion: 'v1', kind: 'ConfigMap' },
  secret: { apiVersion: 'v1', kind: 'Secret' },
  service: { apiVersion: 'v1', kind: 'Service' },
  endpoints: { apiVersion: 'v1', kind: 'Endpoints' },
};

export function isSyncType(value: unknown): value is SyncType {
  return typeof value === 'string' && (SYNC_TYPES as readonly string[]).includes(value);
}

export interface ObjectRef {
  type: SyncType;
  /** a namespace, or `null` for cluster-scoped objects */
  namespace: string;
  name: string;
}

export function objectKey(type: SyncType, namespace: string | undefined, name: string): string {
  return `${type}/${namespace === undefined || namespace === '' ? CLUSTER_SCOPED_NAMESPACE : namespace}/${name}`;
}

export function refOfKey(key: string): ObjectRef {
  const [type, namespace, name] = key.split('/');
  if (!isSyncType(type) || namespace === undefined || name === undefined) throw new EdgeControllerError(`not an object key: ${key}`);
  return { type, namespace, name };
}

export function keyOfObject(type: SyncType, object: KubeObject): string {
  return objectKey(type, object.metadata?.namespace, object.metadata?.name ?? '');
}

/** `node/<node>/<ns>/<type>/<name>` for a key. */
export function cloudResourceOf(node: string, key: string): string {
  const { type, namespace, name } = refOfKey(key);
  return `node/${node}/${namespace}/${type}/${name}`;
}

const DECIMAL = /^\d{1,20}$/;

/** resourceVersions compare as integers (etcd revisions); anything else counts as 0, i.e. oldest. */
export function parseResourceVersion(value: unknown): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  return typeof value === 'string' && DECIMAL.test(value) ? BigInt(value) : 0n;
}

export function resourceVersionOf(object: KubeObject | undefined): string {
  return object?.metadata?.resourceVersion ?? '0';
}

/** What a delete carries when the controller never saw the object: enough for the edge to find it. */
export function stubObject(ref: ObjectRef, resourceVersion: string): KubeObject {
  const metadata: ObjectMeta = { name: ref.name, resourceVersion };
  if (ref.namespace !== CLUSTER_SCOPED_NAMESPACE) metadata.namespace = ref.namespace;
  return { ...KIND_BY_TYPE[ref.type], metadata };
}

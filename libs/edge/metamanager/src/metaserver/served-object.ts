// The form objects leave MetaServer in. metadata.resourceVersion is replaced by the LOCAL revision:
// the edge holds only this node's subset of the cloud's objects, received in per-node order, so cloud
// resourceVersions are neither dense nor a sequence a watch could resume from here. The local change
// log is (and it is on disk, so a watch resumes across edgecore restarts). The cloud's version stays
// visible in an annotation for debugging "edge differs from cloud" questions.
import { badRequest, isRecord, type KubeObject } from '@kedge/kube-core';
import type { CoreResource, StoredObject } from '../kube-object';

export const CLOUD_RESOURCE_VERSION_ANNOTATION = 'metaserver.kedge.io/cloud-resource-version';

/** A copy of the stored object with kind, apiVersion and the local resourceVersion; never shares metadata with the store. */
export function servedObject(stored: StoredObject, resource: CoreResource): KubeObject {
  const metadata = { ...stored.object.metadata };
  metadata.resourceVersion = String(stored.localRevision);
  const annotations = isRecord(metadata.annotations) ? metadata.annotations : {};
  metadata.annotations = { ...annotations, [CLOUD_RESOURCE_VERSION_ANNOTATION]: stored.resourceVersion };
  if (!resource.namespaced) delete metadata.namespace;
  return { ...stored.object, apiVersion: 'v1', kind: resource.kind, metadata };
}

interface ContinuePoint {
  /** the resourceVersion of the first page, echoed on every page */
  rv: number;
  namespace: string;
  name: string;
}

export function encodeContinue(point: ContinuePoint): string {
  return Buffer.from(JSON.stringify(point)).toString('base64url');
}

/** @throws StatusError 400 BadRequest for a token this server did not make */
export function decodeContinue(token: string): ContinuePoint {
  try {
    const point: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (isRecord(point) && Number.isSafeInteger(point['rv']) && typeof point['namespace'] === 'string' && typeof point['name'] === 'string') {
      return { rv: point['rv'] as number, namespace: point['namespace'], name: point['name'] };
    }
  } catch {
    // reported below
  }
  throw badRequest('continue: not a token returned by this MetaServer; list again without it');
}

/** Position after `point` in (namespace, name) order, the order lists are returned in. */
export function isAfter(stored: StoredObject, point: ContinuePoint): boolean {
  if (stored.namespace !== point.namespace) return stored.namespace > point.namespace;
  return stored.name > point.name;
}

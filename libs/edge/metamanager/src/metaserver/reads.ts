// get and list, answered from the local store only: the edge's copy is authoritative for what this
// node runs, and answering locally is what keeps edge apps working while the cloud is unreachable.
import { badRequest, buildTable, notFound, parseIncludeObject, parseListOptions, type IncludeObject, type KubeObject, type ListMeta, type Table } from '@kedge/kube-core';
import { CLUSTER_SCOPED_NAMESPACE } from '@kedge/protocol';
import { CORE_RESOURCES, type CoreResource } from '../kube-object';
import type { ObjectSelector } from '../selectors';
import type { MetaStore } from '../store/meta-store';
import { decodeContinue, encodeContinue, isAfter, servedObject } from './served-object';

export interface ReadFormat {
  table: boolean;
  query: URLSearchParams;
}

/** The selectors of a query string (a `metadata.name` from a named watch path is added by the caller). */
export function selectorOf(query: URLSearchParams): ObjectSelector {
  const selector: ObjectSelector = {};
  const labels = query.get('labelSelector');
  const fields = query.get('fieldSelector');
  if (labels !== null) selector.labelSelector = labels;
  if (fields !== null) selector.fieldSelector = fields;
  return selector;
}

/** True when the client asked for a Table (kubectl get does; -o json/yaml does not). */
export function wantsTable(accept: string | undefined): boolean {
  return accept !== undefined && /as=Table/i.test(accept);
}

/** @throws StatusError 400 for an includeObject other than None, Metadata or Object */
export function includeObjectOf(query: URLSearchParams): IncludeObject {
  const includeObject = parseIncludeObject(query.get('includeObject'));
  if (includeObject === undefined) throw badRequest(`includeObject: must be None, Metadata or Object, got ${JSON.stringify(query.get('includeObject')?.slice(0, 40))}`);
  return includeObject;
}

/** `objects` (in served form) as the Table kubectl prints. */
export function tableOf(resource: CoreResource, objects: KubeObject[], metadata: ListMeta, includeObject: IncludeObject): Table {
  return buildTable(resource.table, objects, {
    now: new Date(),
    includeObject,
    resourceVersion: metadata.resourceVersion,
    continueToken: metadata.continue,
    remainingItemCount: metadata.remainingItemCount,
  });
}

export function getBody(store: MetaStore, resource: CoreResource, namespace: string | undefined, name: string, format: ReadFormat): unknown {
  const stored = store.get(resource.type, namespace ?? CLUSTER_SCOPED_NAMESPACE, name);
  if (stored === undefined) {
    throw notFound({ group: '', resource: resource.plural }, name.slice(0, 253));
  }
  const object = servedObject(stored, resource);
  if (!format.table) return object;
  return tableOf(resource, [object], { resourceVersion: object.metadata.resourceVersion }, includeObjectOf(format.query));
}

/**
 * A Namespace as the edge knows it. The cloud pushes no Namespace objects, so one exists here while a
 * stored object is in it; kubectl asks for the namespace after a NotFound to word its error, and
 * would otherwise blame a missing namespace for every missing object.
 * @throws StatusError 404 naming the namespace
 */
export function namespaceBody(store: MetaStore, name: string): KubeObject {
  const inUse = CORE_RESOURCES.some((resource) => resource.namespaced && store.list(resource.type, name).length > 0);
  if (!inUse) throw notFound({ group: '', resource: 'namespaces' }, name.slice(0, 253));
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } };
}

/**
 * A list, optionally paged. Pages after the first show the store as it is when they are read (there
 * are no snapshots) but carry the first page's resourceVersion, so a watch started from it replays
 * anything the later pages might have skipped rather than missing it.
 */
export function listBody(store: MetaStore, resource: CoreResource, namespace: string | undefined, format: ReadFormat): unknown {
  const { query } = format;
  // decoded and validated as kube-apiserver does (400/422 Status); resourceVersion is accepted but a
  // list is always served from the local store as it is now
  const { limit, continue: token } = parseListOptions(query, false);
  const point = token === '' ? undefined : decodeContinue(token);
  const listRevision = point?.rv ?? store.localRevision;
  let items = store.list(resource.type, namespace, selectorOf(query));
  if (point !== undefined) items = items.filter((stored) => isAfter(stored, point));
  const metadata: ListMeta = { resourceVersion: String(listRevision) };
  if (limit > 0 && items.length > limit) {
    const last = items[limit - 1];
    if (last !== undefined) {
      metadata.continue = encodeContinue({ rv: listRevision, namespace: last.namespace, name: last.name });
      metadata.remainingItemCount = items.length - limit;
    }
    items = items.slice(0, limit);
  }
  const objects = items.map((stored) => servedObject(stored, resource));
  if (format.table) return tableOf(resource, objects, metadata, includeObjectOf(query));
  return { kind: `${resource.kind}List`, apiVersion: 'v1', metadata, items: objects };
}

// get and list, answered from the local store only: the edge's copy is authoritative for what this
// node runs, and answering locally is what keeps edge apps working while the cloud is unreachable.
import { CLUSTER_SCOPED_NAMESPACE } from '@kedge/protocol';
import type { CoreResource } from '../kube-object';
import type { ObjectSelector } from '../selectors';
import type { MetaStore } from '../store/meta-store';
import { decodeContinue, encodeContinue, isAfter, servedObject } from './served-object';
import { StatusError } from './status';
import { buildTable, parseIncludeObject } from './tables';

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

/** A non-negative integer query parameter, or undefined when absent. @throws StatusError BadRequest */
export function integerParam(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  if (!/^\d{1,15}$/.test(value)) throw new StatusError('BadRequest', `${name}: must be a non-negative integer, got ${JSON.stringify(value.slice(0, 40))}`);
  return Number(value);
}

export function getBody(store: MetaStore, resource: CoreResource, namespace: string | undefined, name: string, format: ReadFormat): unknown {
  const stored = store.get(resource.type, namespace ?? CLUSTER_SCOPED_NAMESPACE, name);
  if (stored === undefined) {
    throw new StatusError('NotFound', `${resource.plural} "${name.slice(0, 253)}" not found`, { name: name.slice(0, 253), kind: resource.plural });
  }
  const object = servedObject(stored, resource);
  if (!format.table) return object;
  return buildTable(resource, [object], { resourceVersion: object.metadata.resourceVersion }, parseIncludeObject(format.query.get('includeObject')));
}

/**
 * A list, optionally paged. Pages after the first show the store as it is when they are read (there
 * are no snapshots) but carry the first page's resourceVersion, so a watch started from it replays
 * anything the later pages might have skipped rather than missing it.
 */
export function listBody(store: MetaStore, resource: CoreResource, namespace: string | undefined, format: ReadFormat): unknown {
  const { query } = format;
  const limit = integerParam(query, 'limit');
  const token = query.get('continue');
  const point = token === null || token === '' ? undefined : decodeContinue(token);
  const listRevision = point?.rv ?? store.localRevision;
  let items = store.list(resource.type, namespace, selectorOf(query));
  if (point !== undefined) items = items.filter((stored) => isAfter(stored, point));
  const metadata: Record<string, unknown> = { resourceVersion: String(listRevision) };
  if (limit !== undefined && limit > 0 && items.length > limit) {
    const last = items[limit - 1];
    if (last !== undefined) {
      metadata['continue'] = encodeContinue({ rv: listRevision, namespace: last.namespace, name: last.name });
      metadata['remainingItemCount'] = items.length - limit;
    }
    items = items.slice(0, limit);
  }
  const objects = items.map((stored) => servedObject(stored, resource));
  if (format.table) return buildTable(resource, objects, metadata, parseIncludeObject(query.get('includeObject')));
  return { kind: `${resource.kind}List`, apiVersion: 'v1', metadata, items: objects };
}

// Lists with label/field selectors and paging. Storage pages by key; selectors filter afterwards, so
// a page keeps reading at the same revision until it has `limit` matches or the prefix is exhausted.
import { badRequest, expired, matchesFields, matchesLabels, type FieldRequirement, type KubeObject, type LabelRequirement } from '@kedge/kube-core';
import type { ResourceType } from '../resources';
import type { ObjectStorage } from '../storage';
import { EXPIRED_CONTINUE_MESSAGE, decodeContinueToken, encodeContinueToken } from './continue-token';
import { decodeStored, isStorageCode, objectPrefix, toStatusError } from './object-codec';

export interface ListQuery {
  labelSelector: readonly LabelRequirement[];
  fieldSelector: readonly FieldRequirement[];
  /** 0 = everything */
  limit: number;
  continueToken?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface ObjectList {
  items: KubeObject[];
  resourceVersion: string;
  continueToken?: string;
}

const SELECTOR_CHUNK = 500;

/** The value of a field selector's field: metadata.name/namespace for every type, the rest per type. */
export function fieldValueOf(type: ResourceType, object: KubeObject, field: string): string {
  if (field === 'metadata.name') return object.metadata.name ?? '';
  if (field === 'metadata.namespace') return object.metadata.namespace ?? '';
  return type.fieldSelectors[field]?.(object) ?? '';
}

/** 400 for a field this type cannot select on, with the message of apimachinery. */
export function checkSelectableFields(type: ResourceType, requirements: readonly FieldRequirement[]): void {
  for (const requirement of requirements) {
    if (requirement.field === 'metadata.name' || requirement.field === 'metadata.namespace') continue;
    if (type.fieldSelectors[requirement.field] === undefined) {
      throw badRequest(`field label not supported: ${requirement.field}`);
    }
  }
}

export function matchesQuery(type: ResourceType, object: KubeObject, query: Pick<ListQuery, 'labelSelector' | 'fieldSelector'>): boolean {
  return (
    matchesLabels(query.labelSelector, object.metadata.labels) &&
    matchesFields(query.fieldSelector, (field) => fieldValueOf(type, object, field))
  );
}

function requestedRevision(query: ListQuery): number | undefined {
  const text = query.resourceVersion;
  if (text === undefined || text === '' || text === '0') return undefined;
  if (!/^\d+$/.test(text)) throw badRequest(`resourceVersion: Invalid value: "${text}": must be a non-negative integer`);
  // an exact read is asked for explicitly, or implied by paging from a given revision (Kubernetes' rule)
  if (query.resourceVersionMatch === 'Exact' || (query.resourceVersionMatch === undefined && query.limit > 0)) return Number(text);
  return undefined;
}

export function listObjects(storage: ObjectStorage, type: ResourceType, namespace: string | undefined, query: ListQuery): ObjectList {
  const prefix = objectPrefix(type, namespace);
  let revision: number | undefined;
  let startAfterKey: string | undefined;
  if (query.continueToken !== undefined && query.continueToken !== '') {
    const position = decodeContinueToken(query.continueToken, prefix);
    revision = position.revision;
    startAfterKey = position.lastKey;
  } else {
    revision = requestedRevision(query);
  }
  const filtering = query.labelSelector.length > 0 || query.fieldSelector.length > 0;
  const items: KubeObject[] = [];
  let lastKey: string | undefined;
  let more = false;
  try {
    for (;;) {
      const wanted = query.limit > 0 ? query.limit - items.length : 0;
      const chunk = filtering && wanted > 0 ? Math.max(wanted, SELECTOR_CHUNK) : wanted;
      const page = storage.list(prefix, { limit: chunk, startAfterKey, atRevision: revision });
      revision = page.revision;
      let stoppedEarly = false;
      for (const [index, stored] of page.items.entries()) {
        const object = decodeStored(type, stored);
        if (matchesQuery(type, object, query)) items.push(object);
        lastKey = stored.key;
        if (query.limit > 0 && items.length >= query.limit) {
          stoppedEarly = index < page.items.length - 1;
          break;
        }
      }
      startAfterKey = lastKey;
      if (query.limit > 0 && items.length >= query.limit) {
        more = stoppedEarly || page.more;
        break;
      }
      if (!page.more) break;
    }
  } catch (error) {
    if (isStorageCode(error, 'REVISION_COMPACTED')) {
      throw expired(query.continueToken ? EXPIRED_CONTINUE_MESSAGE : `too old resource version: ${query.resourceVersion ?? ''}`);
    }
    throw toStatusError(error, type, '');
  }
  const list: ObjectList = { items, resourceVersion: String(revision) };
  if (more && lastKey !== undefined) list.continueToken = encodeContinueToken({ revision, lastKey });
  return list;
}

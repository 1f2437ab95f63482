// Storage events → watch events for one watcher: selectors are applied to the old and the new object,
// so an object that stops matching is reported DELETED and one that starts matching ADDED, as the
// Kubernetes watch cache does.
import type { KubeObject } from '../meta';
import type { ResourceType } from '../resources';
import { decodeObject, matchesQuery, type ListQuery } from '../registry';
import type { StorageEvent } from '../storage';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject | Record<string, unknown>;
}

export type WatchFilter = Pick<ListQuery, 'labelSelector' | 'fieldSelector'> & {
  /** extra per-object check, e.g. a node may only see its own objects */
  allowed?: (object: KubeObject) => boolean;
};

function matches(type: ResourceType, object: KubeObject, filter: WatchFilter): boolean {
  return matchesQuery(type, object, filter) && (filter.allowed?.(object) ?? true);
}

export function toWatchEvent(type: ResourceType, event: StorageEvent, filter: WatchFilter): WatchEvent | undefined {
  const object = decodeObject(type, event.value, event.revision);
  const nowMatches = matches(type, object, filter);
  if (event.type === 'ADDED') return nowMatches ? { type: 'ADDED', object } : undefined;
  if (event.type === 'DELETED') return nowMatches ? { type: 'DELETED', object } : undefined;
  const previous = event.prevValue === undefined ? undefined : decodeObject(type, event.prevValue, event.revision);
  const usedToMatch = previous === undefined ? nowMatches : matches(type, previous, filter);
  if (nowMatches && usedToMatch) return { type: 'MODIFIED', object };
  if (nowMatches) return { type: 'ADDED', object };
  if (usedToMatch) return { type: 'DELETED', object };
  return undefined;
}

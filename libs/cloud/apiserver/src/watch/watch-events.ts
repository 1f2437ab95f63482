// Storage events → watch events for one watcher: selectors are applied to the old and the new object,
// so an object that stops matching is reported DELETED and one that starts matching ADDED, as the
// Kubernetes watch cache does.
import { selectedEventType, type KubeObject, type WatchEvent } from '@kedge/kube-core';
import type { ResourceType } from '../resources';
import { decodeObject, matchesQuery, type ListQuery } from '../registry';
import type { StorageEvent } from '../storage';

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
  // a deleted object's last state is what was stored: it matched before exactly when it matches now
  const previous = event.type !== 'MODIFIED' || event.prevValue === undefined ? undefined : decodeObject(type, event.prevValue, event.revision);
  const usedToMatch = previous === undefined ? nowMatches : matches(type, previous, filter);
  const eventType = selectedEventType(event.type, usedToMatch, nowMatches);
  return eventType === undefined ? undefined : { type: eventType, object };
}

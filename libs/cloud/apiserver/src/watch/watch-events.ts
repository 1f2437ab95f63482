// Storage events → watch events for one watcher: selectors are applied to the old and the new object,
// so an object that stops matching is reported DELETED and one that starts matching ADDED, as the
// Kubernetes watch cache does.
import { selectedEventType, watchEventLine, type KubeObject, type WatchEvent } from '@kedge/kube-core';
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

/** One storage event decoded for one resource type, and its encoded lines by event type. */
interface DecodedEvent {
  object: KubeObject;
  previous: KubeObject | undefined;
  lines: Map<WatchEvent['type'], string>;
}

/**
 * The storage store hands one event object to every watcher, so what every watcher of a type would
 * decode (and every plain-JSON watcher encode) is done once per event and type, not once per watcher.
 * The decoded objects are shared: watchers only read them (selectors, filters, Table rows, JSON).
 */
const decodedEvents = new WeakMap<StorageEvent, Map<ResourceType, DecodedEvent>>();

function decoded(type: ResourceType, event: StorageEvent): DecodedEvent {
  let byType = decodedEvents.get(event);
  if (byType === undefined) {
    byType = new Map();
    decodedEvents.set(event, byType);
  }
  let entry = byType.get(type);
  if (entry === undefined) {
    const object = decodeObject(type, event.value, event.revision);
    // a deleted object's last state is what was stored: it matched before exactly when it matches now
    const previous = event.type !== 'MODIFIED' || event.prevValue === undefined ? undefined : decodeObject(type, event.prevValue, event.revision);
    entry = { object, previous, lines: new Map() };
    byType.set(type, entry);
  }
  return entry;
}

export function toWatchEvent(type: ResourceType, event: StorageEvent, filter: WatchFilter): WatchEvent | undefined {
  const { object, previous } = decoded(type, event);
  const nowMatches = matches(type, object, filter);
  const usedToMatch = previous === undefined ? nowMatches : matches(type, previous, filter);
  const eventType = selectedEventType(event.type, usedToMatch, nowMatches);
  return eventType === undefined ? undefined : { type: eventType, object };
}

/** The plain JSON line of `watchEvent` (made from `event` by toWatchEvent), encoded once for every watcher. */
export function plainWatchLine(type: ResourceType, event: StorageEvent, watchEvent: WatchEvent): string {
  const { lines } = decoded(type, event);
  let line = lines.get(watchEvent.type);
  if (line === undefined) {
    line = watchEventLine(watchEvent.type, watchEvent.object);
    lines.set(watchEvent.type, line);
  }
  return line;
}

// Watch events as the Kubernetes API sends them, and the two rules every watch source shares: how a
// selector turns a storage change into an event, and what a BOOKMARK carries.
import type { KubeObject } from '../objects/kube-object';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** A change as a store reports it, before any selector looked at it. */
export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject | Record<string, unknown>;
}

/** Set on the bookmark that ends the initial events of a `sendInitialEvents=true` watch. */
export const INITIAL_EVENTS_END_ANNOTATION = 'k8s.io/initial-events-end';

/**
 * The event a selected watcher sees for a change, as the Kubernetes watch cache decides it: an object
 * that stops matching is DELETED for this watcher, one that starts matching is ADDED, and a change
 * that never matched is not sent (undefined).
 */
export function selectedEventType(change: ChangeType, usedToMatch: boolean, nowMatches: boolean): ChangeType | undefined {
  if (change === 'ADDED') return nowMatches ? 'ADDED' : undefined;
  if (change === 'DELETED') return nowMatches || usedToMatch ? 'DELETED' : undefined;
  if (nowMatches && usedToMatch) return 'MODIFIED';
  if (nowMatches) return 'ADDED';
  return usedToMatch ? 'DELETED' : undefined;
}

/**
 * A BOOKMARK's object: only kind, apiVersion and metadata.resourceVersion carry meaning (plus the
 * initial-events-end annotation); clients resume from that resourceVersion.
 */
export function bookmarkObject(kind: string, apiVersion: string, resourceVersion: string, initialEventsEnd = false): KubeObject {
  const metadata: KubeObject['metadata'] = { resourceVersion };
  if (initialEventsEnd) metadata.annotations = { [INITIAL_EVENTS_END_ANNOTATION]: 'true' };
  return { kind, apiVersion, metadata };
}

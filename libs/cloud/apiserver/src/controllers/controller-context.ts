// What every controller gets: the store it writes through (the same one the HTTP handlers use, so
// controllers obey the same rules), the catalog, a logger and the clock; and their work queue.
import { WorkQueue } from '@kedge/kube-client';
import type { Logger } from '@kedge/telemetry';
import { StatusError, type KubeObject } from '@kedge/kube-core';
import type { ResourceCatalog, ResourceType } from '../resources';
import { decodeObject, type ResourceStore } from '../registry';
import type { StorageEvent, WatchHandle } from '../storage';

export interface ControllerContext {
  store: ResourceStore;
  catalog: ResourceCatalog;
  logger: Logger;
  now: () => Date;
}

export interface Controller {
  /** initial sync (synchronous, so the server starts consistent), then watch */
  start(): void;
  stop(): void;
}

/** The object of a storage event, or undefined for keys of types no longer served. */
export function eventObject(catalog: ResourceCatalog, event: StorageEvent): { type: ResourceType; object: KubeObject } | undefined {
  const type = catalog.typeForKey(event.key);
  if (type === undefined) return undefined;
  try {
    return { type, object: decodeObject(type, event.value, event.revision) };
  } catch {
    return undefined;
  }
}

/** Runs `action` and ignores the Status codes listed (e.g. 404 when someone else deleted the object first). */
export function ignoring(codes: readonly number[], action: () => void): void {
  try {
    action();
  } catch (error) {
    if (error instanceof StatusError && codes.includes(error.code)) return;
    throw error;
  }
}

/** Watches `prefix` from the current revision; the handle stops it. */
export function watchFromNow(context: ControllerContext, prefix: string, listener: (event: StorageEvent) => void): WatchHandle {
  const storage = context.store.storage;
  return storage.watch(prefix, storage.currentRevision(), (event) => {
    try {
      listener(event);
    } catch (error) {
      context.logger.warn({ err: error, key: event.key }, 'controller event handler failed');
    }
  });
}

export const CONTROLLER_MANAGER = 'kedge-apiserver';

/**
 * The work queue of an in-process controller: kube-client's, as the workload controllers use. Keys are
 * processed outside the storage event callback that added them (storage tells watchers synchronously
 * inside the writing call, and a controller should not write from inside someone else's write); a key
 * whose step threw is retried after 1 s, doubling up to a minute.
 */
export function controllerQueue(context: ControllerContext, name: string, reconcile: (key: string) => void): WorkQueue {
  return new WorkQueue({ name, logger: context.logger.child({ controller: name }), reconcile, baseDelayMs: 1_000, maxDelayMs: 60_000 });
}

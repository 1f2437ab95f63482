// What every controller gets: the store it writes through (the same one the HTTP handlers use, so
// controllers obey the same rules), the catalog, a logger and the clock.
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

// Garbage collection through metadata.ownerReferences, like kube-controller-manager's: dependents of
// a deleted owner are deleted (Background) or have the reference removed when other owners remain;
// `orphan` and `foregroundDeletion` finalizers on a deleting owner release or delete its dependents
// first. Owners of kinds this server does not serve are never assumed gone.
import type { WorkQueue } from '@kedge/kube-client';
import type { KubeObject, OwnerReference } from '@kedge/kube-core';
import type { ResourceType } from '../resources';
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER, decodeStored } from '../registry';
import type { StorageEvent, WatchHandle } from '../storage';
import { CONTROLLER_MANAGER, controllerQueue, eventObject, ignoring, type Controller, type ControllerContext } from './controller-context';

const UID_MEMBER = '"uid":"';
const UID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The uid of a stored object (JSON.stringify's text) that has no ownerReferences, finalizers or
 * deletionTimestamp anywhere, read without parsing it; undefined when it has to be parsed. A quote in a
 * JSON string is always escaped, so `"uid":"` occurs only where a member named uid has a string value:
 * when it occurs exactly once it is metadata.uid, which the server sets on every object.
 */
export function plainObjectUid(value: string): string | undefined {
  if (value.includes('"ownerReferences"') || value.includes('"finalizers"') || value.includes('"deletionTimestamp"')) return undefined;
  const at = value.indexOf(UID_MEMBER);
  if (at < 0 || value.includes(UID_MEMBER, at + UID_MEMBER.length)) return undefined;
  const start = at + UID_MEMBER.length;
  const uid = value.slice(start, value.indexOf('"', start));
  return UID_PATTERN.test(uid) ? uid : undefined;
}

interface IndexedObject {
  uid: string;
  owners: OwnerReference[];
}

export class GarbageCollector implements Controller {
  private readonly queue: WorkQueue;
  private handle: WatchHandle | undefined;
  /** uid → storage key of every live object */
  private readonly liveUids = new Map<string, string>();
  /** storage key → uid and owner references */
  private readonly objects = new Map<string, IndexedObject>();
  /** owner uid → storage keys of its dependents */
  private readonly dependents = new Map<string, Set<string>>();

  constructor(private readonly context: ControllerContext) {
    this.queue = controllerQueue(context, 'garbage-collector', (item) => this.process(item));
  }

  start(): void {
    const { storage } = this.context.store;
    const revision = storage.currentRevision();
    for (const type of this.context.catalog.storageTypes()) {
      const all = storage.list(`${type.storagePrefix}/`, { atRevision: revision });
      for (const stored of all.items) this.index(stored.key, decodeStored(type, stored));
    }
    this.handle = storage.watch('/registry/', revision, (event) => this.onEvent(event));
    // dependents whose owners went while the server was down
    for (const key of this.objects.keys()) this.queue.add(`dependent ${key}`);
  }

  stop(): void {
    this.handle?.stop();
    this.queue.stop();
  }

  private onEvent(event: StorageEvent): void {
    if (event.type === 'DELETED') {
      const indexed = this.objects.get(event.key);
      this.unindex(event.key);
      if (indexed === undefined) return;
      for (const dependent of this.dependents.get(indexed.uid) ?? []) this.queue.add(`dependent ${dependent}`);
      // a foreground-deleting owner may be waiting for this dependent
      for (const owner of indexed.owners) {
        const ownerKey = this.liveUids.get(owner.uid);
        if (ownerKey !== undefined) this.queue.add(`owner ${ownerKey}`);
      }
      return;
    }
    // most objects have no owners, finalizers or deletion mark: their uid is all the index needs
    const uid = this.context.catalog.typeForKey(event.key) === undefined ? undefined : plainObjectUid(event.value);
    if (uid !== undefined) {
      this.indexUid(event.key, uid, []);
      return;
    }
    const decoded = eventObject(this.context.catalog, event);
    if (decoded === undefined) return;
    this.index(event.key, decoded.object);
    const finalizers = decoded.object.metadata.finalizers ?? [];
    if (decoded.object.metadata.deletionTimestamp !== undefined && (finalizers.includes(ORPHAN_FINALIZER) || finalizers.includes(FOREGROUND_FINALIZER))) {
      this.queue.add(`owner ${event.key}`);
    }
    if ((decoded.object.metadata.ownerReferences ?? []).length > 0) this.queue.add(`dependent ${event.key}`);
  }

  private index(key: string, object: KubeObject): void {
    const uid = object.metadata.uid;
    if (uid === undefined) {
      this.unindex(key);
      return;
    }
    this.indexUid(key, uid, (object.metadata.ownerReferences ?? []).filter((owner) => typeof owner?.uid === 'string'));
  }

  private indexUid(key: string, uid: string, owners: OwnerReference[]): void {
    this.unindex(key);
    this.objects.set(key, { uid, owners });
    this.liveUids.set(uid, key);
    for (const owner of owners) {
      const set = this.dependents.get(owner.uid) ?? new Set<string>();
      set.add(key);
      this.dependents.set(owner.uid, set);
    }
  }

  private unindex(key: string): void {
    const previous = this.objects.get(key);
    if (previous === undefined) return;
    this.objects.delete(key);
    if (this.liveUids.get(previous.uid) === key) this.liveUids.delete(previous.uid);
    for (const owner of previous.owners) {
      const set = this.dependents.get(owner.uid);
      set?.delete(key);
      if (set?.size === 0) this.dependents.delete(owner.uid);
    }
  }

  private load(key: string): { type: ResourceType; object: KubeObject } | undefined {
    const type = this.context.catalog.typeForKey(key);
    const stored = type === undefined ? undefined : this.context.store.storage.get(key);
    return type === undefined || stored === undefined ? undefined : { type, object: decodeStored(type, stored) };
  }

  /** An owner is gone only when its kind is served here and no live object has its uid. */
  private ownerGone(owner: OwnerReference): boolean {
    if (this.liveUids.has(owner.uid)) return false;
    return this.context.catalog.findByKind(owner.apiVersion, owner.kind) !== undefined;
  }

  private process(item: string): void {
    const [role, key = ''] = item.split(' ', 2);
    if (role === 'dependent') this.collectDependent(key);
    else this.releaseDependents(key);
  }

  private collectDependent(key: string): void {
    const loaded = this.load(key);
    if (loaded === undefined) return;
    const { type, object } = loaded;
    const owners = object.metadata.ownerReferences ?? [];
    const gone = owners.filter((owner) => this.ownerGone(owner));
    if (gone.length === 0) return;
    const { store } = this.context;
    const name = object.metadata.name ?? '';
    if (gone.length === owners.length) {
      if (object.metadata.deletionTimestamp === undefined) {
        ignoring([404, 409], () => store.delete(type, object.metadata.namespace, name, { propagationPolicy: 'Background' }));
      }
      return;
    }
    const goneUids = new Set(gone.map((owner) => owner.uid));
    ignoring([404, 409], () => {
      store.modify(type, object.metadata.namespace, name, (current) => withoutOwners(current, goneUids), { fieldManager: CONTROLLER_MANAGER });
    });
  }

  /** Orphan: drop the references, then the finalizer. Foreground: delete dependents, then drop the finalizer. */
  private releaseDependents(ownerKey: string): void {
    const loaded = this.load(ownerKey);
    if (loaded === undefined || loaded.object.metadata.deletionTimestamp === undefined) return;
    const { type, object } = loaded;
    const uid = object.metadata.uid ?? '';
    const finalizers = object.metadata.finalizers ?? [];
    const { store } = this.context;
    const dependentKeys = [...(this.dependents.get(uid) ?? [])];
    let done: string | undefined;
    if (finalizers.includes(ORPHAN_FINALIZER)) {
      for (const key of dependentKeys) {
        const dependent = this.load(key);
        if (dependent === undefined) continue;
        ignoring([404, 409], () => {
          store.modify(dependent.type, dependent.object.metadata.namespace, dependent.object.metadata.name ?? '', (current) => withoutOwners(current, new Set([uid])), {
            fieldManager: CONTROLLER_MANAGER,
          });
        });
      }
      done = ORPHAN_FINALIZER;
    } else if (finalizers.includes(FOREGROUND_FINALIZER)) {
      if (dependentKeys.length > 0) {
        for (const key of dependentKeys) {
          const dependent = this.load(key);
          if (dependent === undefined || dependent.object.metadata.deletionTimestamp !== undefined) continue;
          ignoring([404, 409], () =>
            store.delete(dependent.type, dependent.object.metadata.namespace, dependent.object.metadata.name ?? '', { propagationPolicy: 'Foreground' }),
          );
        }
        return; // each dependent's DELETED event brings us back here
      }
      done = FOREGROUND_FINALIZER;
    }
    if (done === undefined) return;
    const finished = done;
    ignoring([404, 409], () => {
      store.modify(
        type,
        object.metadata.namespace,
        object.metadata.name ?? '',
        (current) => ({ ...current, metadata: { ...current.metadata, finalizers: (current.metadata.finalizers ?? []).filter((entry) => entry !== finished) } }),
        { fieldManager: CONTROLLER_MANAGER },
      );
    });
  }
}

function withoutOwners(object: KubeObject, uids: ReadonlySet<string>): KubeObject {
  const remaining = (object.metadata.ownerReferences ?? []).filter((owner) => !uids.has(owner.uid));
  const metadata = { ...object.metadata };
  if (remaining.length === 0) delete metadata.ownerReferences;
  else metadata.ownerReferences = remaining;
  return { ...object, metadata };
}

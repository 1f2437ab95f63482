// Namespaces: the four that exist from the start, a `default` ServiceAccount in each, and deletion:
// a Terminating namespace has its contents deleted, then its `kubernetes` finalizer removed, and goes.
import type { WorkQueue } from '@kedge/kube-client';
import { recordAt, type KubeObject } from '@kedge/kube-core';
import type { ResourceType } from '../resources';
import type { WatchHandle } from '../storage';
import { CONTROLLER_MANAGER, controllerQueue, eventObject, ignoring, watchFromNow, type Controller, type ControllerContext } from './controller-context';

export const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const RECHECK_MS = 1000;

export class NamespaceController implements Controller {
  private readonly queue: WorkQueue;
  private handle: WatchHandle | undefined;
  private readonly recheckTimers = new Set<NodeJS.Timeout>();
  private readonly namespaces: ResourceType;
  private readonly serviceAccounts: ResourceType | undefined;

  constructor(private readonly context: ControllerContext) {
    this.queue = controllerQueue(context, 'namespace', (name) => this.reconcile(name));
    const namespaces = context.catalog.find('', 'v1', 'namespaces');
    if (namespaces === undefined) throw new Error('the namespaces resource is not served');
    this.namespaces = namespaces;
    this.serviceAccounts = context.catalog.find('', 'v1', 'serviceaccounts');
  }

  start(): void {
    const { store } = this.context;
    for (const name of INITIAL_NAMESPACES) {
      if (store.find(this.namespaces, undefined, name) === undefined) {
        store.create(this.namespaces, undefined, { metadata: { name } }, { fieldManager: CONTROLLER_MANAGER });
      }
    }
    this.handle = watchFromNow(this.context, '/registry/', (event) => {
      // most events are neither namespaces nor deletions: skip decoding them (this runs on every write)
      if (event.type !== 'DELETED' && this.context.catalog.typeForKey(event.key) !== this.namespaces) return;
      const decoded = eventObject(this.context.catalog, event);
      if (decoded === undefined) return;
      if (decoded.type === this.namespaces) this.queue.add(decoded.object.metadata.name ?? '');
      // content of a terminating namespace went away: it may be finished now
      else if (event.type === 'DELETED' && decoded.object.metadata.namespace !== undefined) this.queue.add(decoded.object.metadata.namespace);
    });
    const all = store.list(this.namespaces, undefined, { labelSelector: [], fieldSelector: [], limit: 0 });
    for (const namespace of all.items) this.queue.add(namespace.metadata.name ?? '');
  }

  stop(): void {
    this.handle?.stop();
    this.queue.stop();
    for (const timer of this.recheckTimers) clearTimeout(timer);
  }

  private reconcile(name: string): void {
    const namespace = this.context.store.find(this.namespaces, undefined, name);
    if (namespace === undefined) return;
    if (namespace.metadata.deletionTimestamp === undefined) this.ensureDefaultServiceAccount(name);
    else this.finishDeletion(namespace);
  }

  private ensureDefaultServiceAccount(namespace: string): void {
    const type = this.serviceAccounts;
    if (type === undefined || this.context.store.find(type, namespace, 'default') !== undefined) return;
    // 409 when it appeared meanwhile, 403/404 when the namespace started terminating or went
    ignoring([403, 404, 409], () => {
      this.context.store.create(type, namespace, { metadata: { name: 'default' } }, { fieldManager: CONTROLLER_MANAGER });
    });
  }

  private finishDeletion(namespace: KubeObject): void {
    const { store, catalog } = this.context;
    const name = namespace.metadata.name ?? '';
    let remaining = 0;
    for (const type of catalog.storageTypes().filter((candidate) => candidate.namespaced)) {
      const contents = store.list(type, name, { labelSelector: [], fieldSelector: [], limit: 0 });
      for (const object of contents.items) {
        if (object.metadata.deletionTimestamp !== undefined) {
          remaining++;
          continue;
        }
        ignoring([404, 409], () => {
          if (!store.delete(type, name, object.metadata.name ?? '', { propagationPolicy: 'Background' }).deleted) remaining++;
        });
      }
    }
    if (remaining > 0) {
      // objects held by finalizers or a grace period: look again later (their DELETED events also wake us)
      const timer = setTimeout(() => {
        this.recheckTimers.delete(timer);
        this.queue.add(name);
      }, RECHECK_MS);
      timer.unref();
      this.recheckTimers.add(timer);
      return;
    }
    const finalizers = recordAt(namespace, ['spec'])?.['finalizers'];
    if (!Array.isArray(finalizers) || !finalizers.includes('kubernetes')) return;
    ignoring([404, 409], () => {
      store.modify(
        this.namespaces,
        undefined,
        name,
        (current) => ({ ...current, spec: { ...recordAt(current, ['spec']), finalizers: finalizers.filter((entry) => entry !== 'kubernetes') } }),
        { fieldManager: CONTROLLER_MANAGER, subresource: 'finalize' },
      );
    });
  }
}

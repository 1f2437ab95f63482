// CustomResourceDefinitions come alive here: a CRD's resources are added to the catalog (so discovery
// and routing see them) before its status says Established, which is what `kubectl wait --for
// condition=established` waits for. A deleted CRD first loses all its objects, then goes.
import type { WorkQueue } from '@kedge/kube-client';
import { arrayAt, formatTimestamp, isRecord, jsonEqual, recordAt, type KubeObject } from '@kedge/kube-core';
import { crdStatusConditions } from '../crd';
import { customResourceTypes, type ResourceType } from '../resources';
import { CRD_CLEANUP_FINALIZER } from '../registry';
import type { WatchHandle } from '../storage';
import { CONTROLLER_MANAGER, controllerQueue, ignoring, watchFromNow, type Controller, type ControllerContext } from './controller-context';

const CLEANUP_RETRY_MS = 1000;

export class CrdController implements Controller {
  private readonly queue: WorkQueue;
  private handle: WatchHandle | undefined;
  private readonly crds: ResourceType;
  /** resourceVersion of the CRD each registration was built from */
  private readonly registeredFrom = new Map<string, string>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly context: ControllerContext) {
    const crds = context.catalog.find('apiextensions.k8s.io', 'v1', 'customresourcedefinitions');
    if (crds === undefined) throw new Error('the customresourcedefinitions resource is not served');
    this.crds = crds;
    this.queue = controllerQueue(context, 'crd', (name) => this.reconcile(name));
  }

  start(): void {
    const all = this.context.store.list(this.crds, undefined, { labelSelector: [], fieldSelector: [], limit: 0 });
    // register synchronously so that custom resources are served from the first request after a restart
    for (const crd of all.items) this.register(crd);
    this.handle = watchFromNow(this.context, `${this.crds.storagePrefix}/`, (event) => {
      const name = event.key.slice(this.crds.storagePrefix.length + 1);
      this.queue.add(name);
    });
    for (const crd of all.items) this.queue.add(crd.metadata.name ?? '');
  }

  stop(): void {
    this.handle?.stop();
    this.queue.stop();
    for (const timer of this.timers) clearTimeout(timer);
  }

  private register(crd: KubeObject): void {
    const name = crd.metadata.name ?? '';
    if (this.registeredFrom.get(name) === crd.metadata.resourceVersion) return;
    try {
      this.context.catalog.setCustomResources(name, customResourceTypes(crd));
      this.registeredFrom.set(name, crd.metadata.resourceVersion ?? '');
    } catch (error) {
      this.context.logger.warn({ err: error, crd: name }, 'cannot serve custom resource definition');
    }
  }

  private reconcile(name: string): void {
    const crd = this.context.store.find(this.crds, undefined, name);
    if (crd === undefined) {
      this.registeredFrom.delete(name);
      this.context.catalog.removeCustomResources(name);
      return;
    }
    if (crd.metadata.deletionTimestamp !== undefined) {
      this.cleanUp(crd);
      return;
    }
    this.register(crd);
    this.writeStatus(crd);
  }

  private namesConflict(crd: KubeObject): { reason: string; message: string } | undefined {
    const group = recordAt(crd, ['spec'])?.['group'];
    const kind = recordAt(crd, ['spec', 'names'])?.['kind'];
    const clash = this.context.catalog
      .all()
      .find((type) => type.group === group && type.kind === kind && type.definedBy !== undefined && type.definedBy !== crd.metadata.name);
    return clash === undefined ? undefined : { reason: 'KindConflict', message: `kind ${String(kind)} is already in use by ${clash.definedBy ?? ''}` };
  }

  private writeStatus(crd: KubeObject): void {
    const conflict = this.namesConflict(crd);
    const status = crdStatusConditions(crd, { now: formatTimestamp(this.context.now()), ...(conflict === undefined ? {} : { namesConflict: conflict }) });
    const current = recordAt(crd, ['status']) ?? {};
    const wanted = { ...current, ...status };
    if (jsonEqual(current, wanted)) return;
    ignoring([404, 409], () => {
      this.context.store.modify(this.crds, undefined, crd.metadata.name ?? '', (object) => ({ ...object, status: wanted }), {
        fieldManager: CONTROLLER_MANAGER,
        subresource: 'status',
      });
    });
  }

  /** Deletes every object of the CRD, then removes the cleanup finalizer so the CRD itself can go. */
  private cleanUp(crd: KubeObject): void {
    const { store } = this.context;
    const name = crd.metadata.name ?? '';
    this.markTerminating(crd);
    const types = this.context.catalog.customResourcesOf(name);
    let remaining = 0;
    const type = types[0];
    if (type !== undefined) {
      for (const object of store.list(type, undefined, { labelSelector: [], fieldSelector: [], limit: 0 }).items) {
        if (object.metadata.deletionTimestamp !== undefined) {
          remaining++;
          continue;
        }
        ignoring([404, 409], () => {
          if (!store.delete(type, object.metadata.namespace, object.metadata.name ?? '', { propagationPolicy: 'Background' }).deleted) remaining++;
        });
      }
    }
    if (remaining > 0) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.queue.add(name);
      }, CLEANUP_RETRY_MS);
      timer.unref();
      this.timers.add(timer);
      return;
    }
    ignoring([404, 409], () => {
      store.modify(
        this.crds,
        undefined,
        name,
        (object) => ({
          ...object,
          metadata: { ...object.metadata, finalizers: (object.metadata.finalizers ?? []).filter((entry) => entry !== CRD_CLEANUP_FINALIZER) },
        }),
        { fieldManager: CONTROLLER_MANAGER },
      );
    });
  }

  private markTerminating(crd: KubeObject): void {
    const conditions = arrayAt(crd, ['status', 'conditions']).filter(isRecord);
    if (conditions.some((condition) => condition['type'] === 'Terminating')) return;
    const terminating = {
      type: 'Terminating',
      status: 'True',
      reason: 'InstanceDeletionInProgress',
      message: 'CustomResource deletion is in progress',
      lastTransitionTime: formatTimestamp(this.context.now()),
    };
    ignoring([404, 409], () => {
      this.context.store.modify(
        this.crds,
        undefined,
        crd.metadata.name ?? '',
        (object) => ({ ...object, status: { ...recordAt(object, ['status']), conditions: [...conditions, terminating] } }),
        { fieldManager: CONTROLLER_MANAGER, subresource: 'status' },
      );
    });
  }
}

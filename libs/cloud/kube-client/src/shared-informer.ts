// One informer per resource, fed to every controller that subscribed (client-go's SharedInformer):
// N controllers watching pods cost one list and one watch, not N. Listeners also get the previous
// version of an updated object, which client-node's cache does not hand out.
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '@kedge/kube-core';
import type { Logger } from '@kedge/telemetry';
import type { KubeJson } from './kube-json';
import { ManagedInformer, type InformerBackoff, type InformerEvent } from './managed-informer';

export type SharedInformerListener<T> = (event: InformerEvent, object: T, previous: T | undefined) => void;

export interface SharedInformerOptions {
  kubeConfig: KubeConfig;
  resource: string;
  path: string;
  logger: Logger;
  backoff?: InformerBackoff;
  json?: KubeJson;
}

export class SharedInformer<T extends KubeObject> {
  readonly informer: ManagedInformer<T>;
  private readonly listeners: Array<SharedInformerListener<T>> = [];
  /** the last version seen per key, so update listeners can compare old and new */
  private readonly lastSeen = new Map<string, T>();

  constructor(options: SharedInformerOptions) {
    this.informer = new ManagedInformer<T>({
      ...options,
      onEvent: (event, object) => {
        const key = `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
        const previous = this.lastSeen.get(key);
        if (event === 'delete') this.lastSeen.delete(key);
        else this.lastSeen.set(key, object);
        for (const listener of this.listeners) listener(event, object, previous);
      },
    });
  }

  subscribe(listener: SharedInformerListener<T>): void {
    this.listeners.push(listener);
  }

  list(namespace?: string): T[] {
    return [...this.informer.cache.list(namespace)];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.cache.get(name, namespace);
  }
}

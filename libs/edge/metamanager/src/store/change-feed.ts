// Live fan-out of committed changes to watchers. Publishing happens synchronously right after the
// commit, on the same thread as the replay in MetaStore.watch, so a watcher never misses or repeats
// a change between "replayed from the log" and "subscribed".
import type { Logger } from '@kedge/telemetry';
import type { StoredObject } from '../kube-object';

export type ChangeEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ChangeEvent {
  type: ChangeEventType;
  /** the state after the change (for DELETED: the last stored state); object.localRevision is the change's revision */
  object: StoredObject;
}

export type ChangeListener = (event: ChangeEvent) => void;

interface Subscription {
  type: string;
  namespace: string | undefined;
  listener: ChangeListener;
}

export class ChangeFeed {
  readonly #subscriptions = new Set<Subscription>();

  constructor(private readonly logger: Logger | undefined) {}

  subscribe(type: string, namespace: string | undefined, listener: ChangeListener): () => void {
    const subscription: Subscription = { type, namespace, listener };
    this.#subscriptions.add(subscription);
    return () => {
      this.#subscriptions.delete(subscription);
    };
  }

  publish(event: ChangeEvent): void {
    for (const subscription of [...this.#subscriptions]) {
      if (subscription.type !== event.object.type) continue;
      if (subscription.namespace !== undefined && subscription.namespace !== event.object.namespace) continue;
      try {
        subscription.listener(event);
      } catch (error) {
        // one broken watcher must not keep the others (or the ACK to the cloud) from happening
        this.logger?.error({ error, type: event.object.type }, 'a metamanager watch listener failed');
      }
    }
  }

  get size(): number {
    return this.#subscriptions.size;
  }

  clear(): void {
    this.#subscriptions.clear();
  }
}

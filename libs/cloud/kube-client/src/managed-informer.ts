// client-node informers that stay up: client-node re-lists on 410 itself, but after any other list
// or watch error it only reports the error and stops, so each informer here is restarted with
// exponential backoff, counted and logged. Lists go through KubeJson (raw JSON, see kube-json.ts),
// so the cache holds every object in the one shape the watch delivers: the raw JSON the API server wrote,
// typed as @kedge/kube-core's KubeObject (client-node types its objects with Date timestamps, which these
// objects never have; the cast to its types happens here, at the one boundary with its informer).
import { ADD, DELETE, UPDATE, makeInformer, type Informer, type KubeConfig, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import type { KubeList, KubeObject } from '@kedge/kube-core';
import type { Logger } from '@kedge/telemetry';
import { errorMessage, httpStatusOf } from './errors';
import { KubeJson } from './kube-json';

export type InformerEvent = 'add' | 'update' | 'delete';

export interface InformerBackoff {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_INFORMER_BACKOFF: InformerBackoff = { initialMs: 500, maxMs: 30_000 };

/** What an informer's cache answers: the objects of its last list plus the watch events since. */
export type InformerCache<T extends KubeObject> = ObjectCache<T>;

export interface ManagedInformerOptions<T extends KubeObject> {
  kubeConfig: KubeConfig;
  /** resource name for logs and metrics, e.g. "pods" */
  resource: string;
  /** collection path, e.g. /api/v1/pods */
  path: string;
  labelSelector?: string;
  logger: Logger;
  onEvent: (event: InformerEvent, object: T) => void;
  /** told about every restart, e.g. to count it */
  onRestart?: (resource: string) => void;
  /** default DEFAULT_INFORMER_BACKOFF */
  backoff?: InformerBackoff;
  /** the reader of the lists (default: a KubeJson of kubeConfig) */
  json?: KubeJson;
}

export class ManagedInformer<T extends KubeObject = KubeObject> {
  readonly cache: InformerCache<T>;
  private readonly informer: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  private synced = false;
  private listed = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private delayMs: number;
  private readonly backoff: InformerBackoff;
  private readonly syncedPromise: Promise<void>;
  private markSynced: () => void = () => undefined;

  constructor(private readonly options: ManagedInformerOptions<T>) {
    this.backoff = options.backoff ?? DEFAULT_INFORMER_BACKOFF;
    this.delayMs = this.backoff.initialMs;
    this.syncedPromise = new Promise<void>((resolve) => (this.markSynced = resolve));
    const json = options.json ?? new KubeJson(options.kubeConfig);
    const query: Record<string, string> = options.labelSelector === undefined ? {} : { labelSelector: options.labelSelector };
    const list = async (): Promise<KubeList<T>> => {
      const result = await json.list<T>(options.path, query);
      this.delayMs = this.backoff.initialMs;
      this.listed = true;
      return result;
    };
    this.informer = makeInformer<KubernetesObject>(options.kubeConfig, options.path, list as never, options.labelSelector);
    this.cache = this.informer as unknown as InformerCache<T>;
    const raw = (object: KubernetesObject): T => object as unknown as T;
    this.informer.on(ADD, (object) => options.onEvent('add', raw(object)));
    this.informer.on(UPDATE, (object) => options.onEvent('update', raw(object)));
    this.informer.on(DELETE, (object) => options.onEvent('delete', raw(object)));
    this.informer.on('error', (error: unknown) => this.failed(error));
  }

  get resource(): string {
    return this.options.resource;
  }

  get isSynced(): boolean {
    return this.synced;
  }

  /** Starts listing and watching; resolves once the first list is in the cache (or after stop()). */
  start(): Promise<void> {
    void this.run();
    return this.syncedPromise;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.markSynced();
    await this.informer.stop();
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.informer.start();
    } catch (error) {
      this.failed(error);
      return;
    }
    // client-node's start() also resolves after a failed list (it reports that through 'error');
    // the items of a successful list are in the cache by the time start() resolves
    if (!this.synced && this.listed) {
      this.synced = true;
      this.markSynced();
    }
  }

  private failed(error: unknown): void {
    if (this.stopped || this.retryTimer !== undefined) return;
    const { resource, path, logger } = this.options;
    const status = httpStatusOf(error);
    if (status === 404 && !this.synced) {
      // the API server does not serve this resource (e.g. no endpoints): sync the rest without it
      this.synced = true;
      this.markSynced();
      logger.warn({ resource, path }, 'resource not served by the API server; syncing without it and retrying later');
      this.delayMs = this.backoff.maxMs;
    }
    const delayMs = this.delayMs;
    this.delayMs = Math.min(this.backoff.maxMs, this.delayMs * 2);
    this.options.onRestart?.(resource);
    logger.warn({ resource, status, error: errorMessage(error), retryInMs: delayMs }, 'informer failed; restarting it');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.run();
    }, delayMs);
    this.retryTimer.unref();
  }
}

// A client-node informer on a custom resource that restarts itself with backoff after list or
// watch errors (client-node only re-lists on 410 by itself). Lists go through CustomObjectsApi,
// which hands out raw JSON, as the watch does.
import { ADD, CustomObjectsApi, DELETE, UPDATE, makeInformer, type Informer, type KubeConfig, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import type { Logger } from '@kedge/telemetry';
import { errorMessage } from './errors';

export type InformerEvent = 'add' | 'update' | 'delete';

export class CustomInformer<T extends KubernetesObject> {
  readonly cache: Informer<T> & ObjectCache<T>;
  private stopped = false;
  private synced = false;
  private listed = false;
  private retry: NodeJS.Timeout | undefined;
  private delayMs = 200;
  private markSynced: () => void = () => undefined;
  private readonly syncedPromise = new Promise<void>((resolve) => (this.markSynced = resolve));

  constructor(
    kubeConfig: KubeConfig,
    group: string,
    version: string,
    readonly plural: string,
    private readonly logger: Logger,
    onEvent: (event: InformerEvent, object: T) => void,
  ) {
    const api = kubeConfig.makeApiClient(CustomObjectsApi);
    const list = async () => {
      const result = (await api.listClusterCustomObject({ group, version, plural })) as { items: T[] };
      this.listed = true;
      this.delayMs = 200;
      return result;
    };
    this.cache = makeInformer<T>(kubeConfig, `/apis/${group}/${version}/${plural}`, list as never);
    this.cache.on(ADD, (o) => onEvent('add', o));
    this.cache.on(UPDATE, (o) => onEvent('update', o));
    this.cache.on(DELETE, (o) => onEvent('delete', o));
    this.cache.on('error', (error: unknown) => this.failed(error));
  }

  start(): Promise<void> {
    void this.run();
    return this.syncedPromise;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.markSynced();
    await this.cache.stop();
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.cache.start();
    } catch (error) {
      this.failed(error);
      return;
    }
    if (!this.synced && this.listed) {
      this.synced = true;
      this.markSynced();
    }
  }

  private failed(error: unknown): void {
    if (this.stopped || this.retry !== undefined) return;
    const delayMs = this.delayMs;
    this.delayMs = Math.min(30_000, this.delayMs * 2);
    this.logger.warn({ resource: this.plural, error: errorMessage(error), retryInMs: delayMs }, 'informer failed; restarting it');
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.run();
    }, delayMs);
    this.retry.unref();
  }
}

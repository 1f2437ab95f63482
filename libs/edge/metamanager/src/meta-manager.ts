// MetaManager: the edge module that owns the `resource` group. Down messages from the cloud are
// applied to the local store and ACKed only once committed; status reports go up through a durable,
// coalescing outbox; edge modules read from the store whether or not the cloud is reachable.
import { Operation, newErrorResponse, newMessage, newResponse, type Message } from '@kedge/protocol';
import { Group } from '@kedge/protocol';
import type { MessageRouter } from '@kedge/router';
import { LogThrottle, type Logger } from '@kedge/telemetry';
import type { Registry } from 'prom-client';
import { BadMessageError, MetaManagerError } from './errors';
import type { StoredObject } from './kube-object';
import { MetaManagerMetrics } from './metrics';
import { OutboxSender, type CloudLink, type RetryBackoff } from './outbox-sender';
import type { ObjectSelector } from './selectors';
import type { MetaStore } from './store/meta-store';

export interface MetaManagerOptions {
  store: MetaStore;
  router: MessageRouter;
  /** EdgeHub, or anything with its send / onConnectionChange / connected */
  hub: CloudLink;
  logger: Logger;
  registry: Registry;
  nodeName: string;
  /** how long to wait for the cloud's answer to one status report (default 10 s) */
  requestTimeoutMs?: number;
  /** how often to retry the outbox while connected, besides on connect and on report (default 5 s) */
  flushIntervalMs?: number;
  /** backoff for reports that timed out (default 1 s doubling to 60 s) */
  retryBackoff?: Partial<RetryBackoff>;
  /** reports awaiting an answer at once (default 32) */
  maxInFlight?: number;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new MetaManagerError('INVALID_OPTION', `${name} must be a positive number, got ${String(value)}`, name);
  return value;
}

export class MetaManager {
  readonly #store: MetaStore;
  readonly #hub: CloudLink;
  readonly #logger: Logger;
  readonly #metrics: MetaManagerMetrics;
  readonly #sender: OutboxSender;
  readonly #logThrottle = new LogThrottle();
  readonly #unregister: () => void;
  readonly #unobserve: () => unknown;
  readonly #flushTimer: NodeJS.Timeout;
  #stopped = false;

  /** Registers the `resource` group on the router and starts flushing the outbox whenever connected. */
  constructor(options: MetaManagerOptions) {
    this.#store = options.store;
    this.#hub = options.hub;
    this.#logger = options.logger.child({ module: 'metamanager', node: options.nodeName });
    this.#metrics = new MetaManagerMetrics(options.registry, options.store);
    this.#sender = new OutboxSender({
      outbox: options.store.outbox,
      whenDurable: () => options.store.whenDurable(),
      router: options.router,
      hub: options.hub,
      logger: this.#logger,
      metrics: this.#metrics,
      requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs ?? 10_000),
      retryBackoff: {
        initialMs: positive('retryBackoff.initialMs', options.retryBackoff?.initialMs ?? 1_000),
        maxMs: positive('retryBackoff.maxMs', options.retryBackoff?.maxMs ?? 60_000),
      },
      maxInFlight: positive('maxInFlight', options.maxInFlight ?? 32),
    });
    this.#unregister = options.router.register(Group.Resource, (message) => this.#onResourceMessage(message));
    this.#unobserve = options.hub.onConnectionChange((connected) => {
      if (!connected) return;
      this.#sendInventory(options.hub, options.nodeName);
      void this.#sender.kick();
    });
    this.#flushTimer = setInterval(() => void this.#sender.kick(), positive('flushIntervalMs', options.flushIntervalMs ?? 5_000));
    this.#flushTimer.unref();
    void this.#sender.kick();
  }

  /**
   * On every connect the edge tells the cloud what it holds (identity and resourceVersion of each
   * object); the cloud answers by sending exactly the difference, deletes included. The edge's own
   * store is the record of what it has, so nothing is lost when the cloud's bookkeeping is.
   */
  #sendInventory(hub: CloudLink, nodeName: string): void {
    const items = this.#store.inventory();
    const message = newMessage({
      source: 'metamanager',
      group: Group.Resource,
      operation: Operation.Query,
      resource: `null/inventory/${nodeName}`,
      content: { items },
    });
    hub.send(message).then(
      () => this.#logger.info({ objects: items.length }, 'sent inventory to the cloud for resync'),
      (error: unknown) => this.#logger.warn({ error: String(error) }, 'inventory not sent; the next connect sends it again'),
    );
  }

  /** One object from the local store (cluster-scoped: namespace `null` or undefined). */
  get(type: string, namespace: string | undefined, name: string): StoredObject | undefined {
    return this.#store.get(type, namespace, name);
  }

  /** Objects from the local store. @throws InvalidSelectorError */
  list(type: string, namespace?: string, selector?: ObjectSelector): StoredObject[] {
    return this.#store.list(type, namespace, selector);
  }

  /**
   * Queues a status report for the cloud (group `resource`, e.g. operation `update` on
   * `<ns>/podstatus/<name>`). When this returns the report is committed (safe from a process crash);
   * it replaces any queued report for the same resource and is sent when the link is up, once the
   * store's group commit has it on disk.
   * @returns the report's position in the send order
   * @throws BadReportError
   */
  report(message: Message): number {
    if (this.#stopped) throw new MetaManagerError('MANAGER_STOPPED', 'cannot report: the metamanager is stopped (edgecore is shutting down)');
    const seq = this.#store.outbox.enqueue(message);
    void this.#sender.kick();
    return seq;
  }

  /**
   * Queues several status reports in one transaction (e.g. DeviceTwin's reports of one burst of twin
   * updates), otherwise as `report`. @returns their positions in the send order. @throws BadReportError
   */
  reportMany(messages: Message[]): number[] {
    if (this.#stopped) throw new MetaManagerError('MANAGER_STOPPED', 'cannot report: the metamanager is stopped (edgecore is shutting down)');
    const seqs = this.#store.outbox.enqueueMany(messages);
    if (seqs.length > 0) void this.#sender.kick();
    return seqs;
  }

  /** Sends what is due now (if connected); resolves once no report is awaiting the cloud's answer. */
  flush(): Promise<void> {
    return this.#sender.kick();
  }

  /** Unregisters from the router and hub and stops sending. The store stays open (its owner closes it). */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#flushTimer);
    this.#sender.stop();
    this.#unregister();
    this.#unobserve();
  }

  async #onResourceMessage(message: Message): Promise<void> {
    const { operation, resource } = message.route;
    // a reply the router no longer waits for (its request timed out), or a keepalive echo: nothing to do
    if (operation === Operation.Response || operation === Operation.Error || operation === Operation.Keepalive) {
      this.#logger.debug({ operation, resource }, 'ignored an unsolicited message');
      return;
    }
    let result;
    try {
      result = this.#store.apply(message);
    } catch (error) {
      if (error instanceof BadMessageError) {
        this.#metrics.badMessages.inc({ field: error.field ?? 'message' });
        this.#logThrottle.run(`bad:${error.field ?? ''}`, (suppressed) =>
          this.#logger.warn({ resource: String(resource).slice(0, 200), error: error.message, suppressed }, 'refused a bad message from the cloud'),
        );
        await this.#answer(newErrorResponse(message, error.message));
        return;
      }
      // not committed, so not ACKed: the cloud resends it
      this.#logger.error({ error, resource }, 'cannot store a message from the cloud; not acknowledging it');
      return;
    }
    try {
      // only once it is on disk (group commit, shared with the writes of this moment): an ACK tells
      // the cloud it may forget this version
      await this.#store.whenDurable();
    } catch (error) {
      this.#logger.error({ error, resource }, 'a message from the cloud could not be made durable; not acknowledging it');
      return;
    }
    this.#metrics.applied.inc({ operation, result: result.reason });
    await this.#answer(newResponse(message, 'OK'));
  }

  async #answer(reply: Message): Promise<void> {
    try {
      await this.#hub.send(reply);
    } catch (error) {
      // offline: nothing is lost, the cloud resends unacknowledged messages after reconnect
      this.#metrics.acksUnsent.inc();
      this.#logThrottle.run('ack', (suppressed) =>
        this.#logger.debug({ error: (error as Error).message, suppressed }, 'could not answer the cloud; it will resend'),
      );
    }
  }
}

// Drains the outbox while the link is up. Reports go out in seq order through a window of requests
// in flight (at most one per resource), and each is settled by the cloud's answer: a response
// removes it, an error answer drops it (the cloud will never accept it; retrying forever would only
// fill logs), a timeout keeps it and backs off, and a dead link keeps everything until reconnect.
import { RemoteError, RequestTimeoutError, RouterClosedError, type MessageRouter } from '@kedge/router';
import { LogThrottle, type Logger } from '@kedge/telemetry';
import type { Message } from '@kedge/protocol';
import type { MetaManagerMetrics } from './metrics';
import type { OutboxHead, OutboxTable } from './store/outbox-table';

/** What the metamanager needs of EdgeHub; tests may pass a small fake. */
export interface CloudLink {
  /** sends to the cloud; rejects (CloudUnreachableError) while disconnected */
  send(message: Message): Promise<void>;
  onConnectionChange(observer: (connected: boolean) => void): () => unknown;
  readonly connected: boolean;
}

export interface RetryBackoff {
  initialMs: number;
  maxMs: number;
}

export interface OutboxSenderOptions {
  outbox: OutboxTable;
  /** resolves once every write committed so far is on disk (the store's group commit) */
  whenDurable: () => Promise<void>;
  router: MessageRouter;
  hub: CloudLink;
  logger: Logger;
  metrics: MetaManagerMetrics;
  requestTimeoutMs: number;
  retryBackoff: RetryBackoff;
  maxInFlight: number;
}

interface Retry {
  seq: number;
  at: number;
}

export class OutboxSender {
  readonly #options: OutboxSenderOptions;
  readonly #logThrottle = new LogThrottle();
  /** backoff after a timeout, per resource; only for the seq that timed out (a newer report goes at once) */
  readonly #retries = new Map<string, Retry>();
  readonly #inFlight = new Set<string>();
  readonly #idleWaiters: (() => void)[] = [];
  /** a send failed for want of a link: no more sends until the next kick (connect, report, timer) */
  #linkDown = false;
  /** an fsync of the store failed: nothing more is sent (it would be ahead of the disk) */
  #notDurable = false;
  #stopped = false;
  #retryTimer: NodeJS.Timeout | undefined;
  /** a pump is scheduled for the next turn: answers settled in one turn share one read of the outbox */
  #pumpScheduled = false;

  constructor(options: OutboxSenderOptions) {
    this.#options = options;
  }

  /** Sends what is due (if connected); resolves once nothing is in flight. */
  kick(): Promise<void> {
    this.#linkDown = false;
    this.#pump();
    if (this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#releaseIdleWaiters();
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => this.#pump());
  }

  #pump(): void {
    this.#pumpScheduled = false;
    this.#fill();
    if (this.#inFlight.size === 0) this.#releaseIdleWaiters();
  }

  /** Starts sends up to the window, in seq order, skipping resources in flight or backing off. */
  #fill(): void {
    const { hub, outbox, maxInFlight, logger } = this.#options;
    if (this.#stopped || this.#notDurable || this.#linkDown || !hub.connected) return;
    if (this.#inFlight.size >= maxInFlight) return;
    let heads: OutboxHead[];
    try {
      // enough rows to find the free slots' worth of sendable ones past those in flight or backing off
      heads = outbox.heads(maxInFlight + this.#retries.size);
    } catch (error) {
      logger.error({ error }, 'cannot read the outbox; reports stay queued');
      return;
    }
    // the entries just read were committed before this call: each is sent once this resolves
    let durable: Promise<void> | undefined;
    const now = Date.now();
    for (const head of heads) {
      if (this.#inFlight.size >= maxInFlight) break;
      if (this.#inFlight.has(head.resource)) continue;
      const retry = this.#retries.get(head.resource);
      if (retry !== undefined && retry.seq === head.seq && retry.at > now) continue;
      this.#inFlight.add(head.resource);
      durable ??= this.#options.whenDurable();
      void this.#sendOne(head, durable).finally(() => {
        this.#inFlight.delete(head.resource);
        this.#schedulePump();
      });
    }
    this.#scheduleRetry();
  }

  async #sendOne(entry: OutboxHead, durable: Promise<void>): Promise<void> {
    const { router, hub, outbox, metrics, logger, requestTimeoutMs } = this.#options;
    try {
      // never ahead of the disk: the cloud must not act on a report a power cut could take back
      await durable;
    } catch (error) {
      this.#notDurable = true;
      this.#logThrottle.run('not-durable', (suppressed) =>
        logger.error({ error, resource: entry.resource, suppressed }, 'the outbox could not be made durable; reports stay queued until edgecore restarts'),
      );
      return;
    }
    if (this.#stopped) return;
    let message: Message | undefined;
    try {
      // read only now: a report that replaced this one meanwhile goes on the next pump, under its own seq
      message = outbox.message(entry.resource, entry.seq);
    } catch (error) {
      logger.error({ error, resource: entry.resource }, 'cannot read a queued report; it stays queued');
      return;
    }
    if (message === undefined) return;
    try {
      await router.request(message, { timeoutMs: requestTimeoutMs, send: (message) => hub.send(message) });
      if (this.#stopped) return;
      outbox.settle(entry.resource, entry.seq);
      this.#retries.delete(entry.resource);
      metrics.outboxSent.inc();
    } catch (error) {
      if (this.#stopped) return;
      try {
        this.#settleFailure(entry, error);
      } catch (storeError) {
        logger.error({ error: storeError, resource: entry.resource }, 'cannot update the outbox; the report stays queued');
      }
    }
  }

  #settleFailure(entry: OutboxHead, error: unknown): void {
    const { outbox, metrics, logger } = this.#options;
    if (error instanceof RemoteError) {
      outbox.settle(entry.resource, entry.seq);
      this.#retries.delete(entry.resource);
      metrics.outboxFailures.inc({ reason: 'rejected' });
      this.#logThrottle.run(`rejected:${entry.resource}`, (suppressed) =>
        logger.warn({ resource: entry.resource, reason: error.message, suppressed }, 'the cloud rejected a status report; dropped it'),
      );
    } else if (error instanceof RequestTimeoutError) {
      const attempts = entry.attempts + 1;
      outbox.recordFailure(entry.resource, entry.seq, error.message);
      this.#retries.set(entry.resource, { seq: entry.seq, at: Date.now() + this.#backoff(attempts) });
      metrics.outboxFailures.inc({ reason: 'timeout' });
      this.#logThrottle.run('timeout', (suppressed) =>
        logger.warn({ resource: entry.resource, attempts, suppressed }, 'no answer from the cloud to a status report; will retry'),
      );
    } else if (error instanceof RouterClosedError) {
      this.stop();
    } else {
      // the link went down under us (CloudUnreachableError or a failed write): everything stays
      // queued, without counting as an attempt, until the next connect
      this.#linkDown = true;
      logger.debug({ resource: entry.resource, error: (error as Error).message }, 'outbox paused: link down');
    }
  }

  #backoff(attempts: number): number {
    const { initialMs, maxMs } = this.#options.retryBackoff;
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempts - 1, 30));
    // jitter so many gateways recovering together do not retry in lockstep
    return base * (0.5 + Math.random() / 2);
  }

  #scheduleRetry(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    if (this.#stopped || this.#retries.size === 0) return;
    const earliest = Math.min(...[...this.#retries.values()].map((retry) => retry.at));
    this.#retryTimer = setTimeout(() => this.#pump(), Math.max(0, earliest - Date.now()));
    this.#retryTimer.unref();
  }

  #releaseIdleWaiters(): void {
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}

// A rate-limited work queue of object keys, like client-go's: a key waits at most once however often
// it is added, is never processed by two workers at once, and a key that failed comes back after an
// exponential per-key delay (reset by a success), so a broken object can never spin in a hot loop.
// Keys are processed on a later turn of the event loop, never inside add(): an informer callback or
// a storage watch that adds a key is never re-entered by the write that key's reconcile makes.
import type { Logger } from '@kedge/telemetry';
import { errorMessage } from './errors';

export type ReconcileOutcome = { requeueAfterMs?: number } | void;

export interface WorkQueueOptions {
  /** the controller's name, for logs */
  name: string;
  logger: Logger;
  reconcile: (key: string) => Promise<ReconcileOutcome> | ReconcileOutcome;
  /**
   * Logs a failure and names it for onResult; the key is retried with backoff either way. Without it
   * the first failure of a key and every tenth after it are warnings, the ones between debug.
   */
  classifyFailure?: (key: string, error: unknown, failures: number) => string;
  /** 'success' or what classifyFailure said ('error' without it), e.g. for a metric */
  onResult?: (result: string) => void;
  onDepth?: (depth: number) => void;
  /** first retry delay of a failed key, doubling per failure (default 100 ms) */
  baseDelayMs?: number;
  /** ceiling of the retry delay (default 300 000 ms) */
  maxDelayMs?: number;
  /** keys processed at once (default 2) */
  workers?: number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** keys added while being processed: they go round again afterwards */
  private readonly dirtyWhileProcessing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private running = 0;
  private pumpScheduled = false;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: WorkQueueOptions) {}

  get depth(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirtyWhileProcessing.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.options.onDepth?.(this.queue.length);
    this.schedulePump();
  }

  /** Adds the key after `delayMs`; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending !== undefined && pending.at <= at) return;
    if (pending !== undefined) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Drops everything waiting; a key being processed finishes (idle() tells when). */
  stop(): void {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    this.dirtyWhileProcessing.clear();
    if (this.running === 0) this.wakeIdleWaiters();
  }

  /** Resolves when nothing is queued or being processed (for tests and shutdown). */
  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const workers = this.options.workers ?? 2;
    while (!this.stopped && this.running < workers && this.queue.length > 0) {
      const key = this.queue.shift() as string;
      this.queued.delete(key);
      this.options.onDepth?.(this.queue.length);
      this.processing.add(key);
      this.running += 1;
      void this.process(key).finally(() => {
        this.running -= 1;
        this.processing.delete(key);
        if (this.dirtyWhileProcessing.delete(key)) this.add(key);
        if (this.running === 0 && this.queue.length === 0) this.wakeIdleWaiters();
        this.pump();
      });
    }
  }

  private wakeIdleWaiters(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async process(key: string): Promise<void> {
    try {
      const outcome = await this.options.reconcile(key);
      this.failures.delete(key);
      this.options.onResult?.('success');
      if (outcome?.requeueAfterMs !== undefined) this.addAfter(key, outcome.requeueAfterMs);
    } catch (error) {
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      const result = this.options.classifyFailure?.(key, error, failures) ?? this.logFailure(key, error, failures);
      this.options.onResult?.(result);
      const base = this.options.baseDelayMs ?? 100;
      const delayMs = Math.min(this.options.maxDelayMs ?? 300_000, base * 2 ** Math.min(failures - 1, 30));
      this.options.logger.debug({ queue: this.options.name, key, failures, retryInMs: delayMs }, 'reconcile failed; retrying with backoff');
      this.addAfter(key, delayMs);
    }
  }

  private logFailure(key: string, error: unknown, failures: number): string {
    const level = failures % 10 === 1 ? 'warn' : 'debug';
    this.options.logger[level]({ queue: this.options.name, key, failures, error: errorMessage(error) }, 'reconcile failed; retrying with backoff');
    return 'error';
  }
}

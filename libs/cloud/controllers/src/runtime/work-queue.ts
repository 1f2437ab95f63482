// A rate-limited work queue of object keys, like client-go's: a key waits at most once however often
// it is added, is never processed by two workers at once, and a key that failed comes back after an
// exponential per-key delay (reset by a success), so a broken object can never spin in a hot loop.
import type { Logger } from '@kedge/telemetry';

export type ReconcileOutcome = { requeueAfterMs?: number } | void;

export interface WorkQueueOptions {
  name: string;
  logger: Logger;
  reconcile: (key: string) => Promise<ReconcileOutcome>;
  /** decides the metrics label and log level of a failure; the key is retried with backoff either way */
  classifyFailure: (key: string, error: unknown, failures: number) => string;
  onResult: (result: string) => void;
  onDepth: (depth: number) => void;
  baseDelayMs?: number;
  maxDelayMs?: number;
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
    this.options.onDepth(this.queue.length);
    this.pump();
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

  stop(): void {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
  }

  /** Resolves when nothing is queued or being processed (for tests and shutdown). */
  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    const workers = this.options.workers ?? 2;
    while (!this.stopped && this.running < workers && this.queue.length > 0) {
      const key = this.queue.shift() as string;
      this.queued.delete(key);
      this.options.onDepth(this.queue.length);
      this.processing.add(key);
      this.running += 1;
      void this.process(key).finally(() => {
        this.running -= 1;
        this.processing.delete(key);
        if (this.dirtyWhileProcessing.delete(key)) this.add(key);
        if (this.running === 0 && this.queue.length === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
        this.pump();
      });
    }
  }

  private async process(key: string): Promise<void> {
    try {
      const outcome = await this.options.reconcile(key);
      this.failures.delete(key);
      this.options.onResult('success');
      if (outcome?.requeueAfterMs !== undefined) this.addAfter(key, outcome.requeueAfterMs);
    } catch (error) {
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      const result = this.options.classifyFailure(key, error, failures);
      this.options.onResult(result);
      const base = this.options.baseDelayMs ?? 100;
      const delayMs = Math.min(this.options.maxDelayMs ?? 300_000, base * 2 ** Math.min(failures - 1, 30));
      this.options.logger.debug({ queue: this.options.name, key, failures, retryInMs: delayMs }, 'reconcile failed; retrying with backoff');
      this.addAfter(key, delayMs);
    }
  }
}

// A deduplicating queue of keys processed outside the storage event callback: storage tells watchers
// synchronously inside the writing call, and controllers should not write from inside someone else's
// write. Failed keys are retried with a delay; nothing here ever throws at the caller.
import type { Logger } from '@kedge/telemetry';

export class WorkQueue {
  private readonly pending = new Set<string>();
  private scheduled = false;
  private stopped = false;
  private readonly retryTimers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly name: string,
    private readonly process: (key: string) => void,
    private readonly logger: Logger,
    private readonly retryDelayMs = 1000,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    this.pending.add(key);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  stop(): void {
    this.stopped = true;
    this.pending.clear();
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
  }

  private drain(): void {
    this.scheduled = false;
    const keys = [...this.pending];
    this.pending.clear();
    for (const key of keys) {
      if (this.stopped) return;
      try {
        this.process(key);
      } catch (error) {
        this.logger.warn({ err: error, controller: this.name, key }, 'controller step failed; retrying');
        const timer = setTimeout(() => {
          this.retryTimers.delete(timer);
          this.add(key);
        }, this.retryDelayMs);
        timer.unref();
        this.retryTimers.add(timer);
      }
    }
  }
}

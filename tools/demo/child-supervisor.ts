// Restarts a child of the all-in-one when it exits on its own, as systemd's Restart=on-failure would on
// a gateway: with exponential backoff, logging each restart, and giving up after a run of quick
// failures (a child that cannot start is not restarted forever). The other children, and the pods,
// keep running meanwhile: that is the autonomy the demo shows.
import type { KedgeProcess } from '../e2e/harness';

export interface ChildSupervisorOptions<Handle> {
  /** `edgecore`, `cloudcore`: names the child in messages */
  name: string;
  /** starts the child and resolves once it is up (rejects when it cannot come up) */
  start: () => Promise<Handle>;
  processOf: (handle: Handle) => KedgeProcess;
  /** a new instance is up (keep its logs, remember it for Ctrl-C) */
  onStarted: (handle: Handle) => void;
  /** every restart and the final give-up, for the demo's output */
  report: (text: string) => void;
  /** called once when the child failed `maxQuickFailures` times in a row */
  onGiveUp: (message: string) => void;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** a run shorter than this counts as a quick failure */
  quickFailureMs?: number;
  maxQuickFailures?: number;
}

export class ChildSupervisor<Handle> {
  private stopped = false;
  private quickFailures = 0;
  private restarts = 0;
  private pendingRestart: NodeJS.Timeout | undefined;

  constructor(private readonly options: ChildSupervisorOptions<Handle>) {}

  /** Watches an instance already started by the caller. */
  watch(handle: Handle, startedAt = Date.now()): void {
    void this.options
      .processOf(handle)
      .waitForExit()
      .then((code) => this.exited(code, Date.now() - startedAt));
  }

  /** No more restarts (Ctrl-C): the caller stops the current instance itself. */
  stop(): void {
    this.stopped = true;
    if (this.pendingRestart !== undefined) clearTimeout(this.pendingRestart);
  }

  private exited(code: number | null, ranMs: number): void {
    if (this.stopped) return;
    const { name, report } = this.options;
    this.quickFailures = ranMs < (this.options.quickFailureMs ?? 10_000) ? this.quickFailures + 1 : 0;
    const limit = this.options.maxQuickFailures ?? 5;
    if (this.quickFailures >= limit) {
      this.stopped = true;
      this.options.onGiveUp(`${name} failed ${limit} times in a row, each within ${Math.round((this.options.quickFailureMs ?? 10_000) / 1000)} s of starting; not restarting it again`);
      return;
    }
    // back off only while it keeps failing quickly; a long healthy run starts over at the first delay
    const initial = this.options.initialDelayMs ?? 1000;
    const delayMs = Math.min(this.options.maxDelayMs ?? 30_000, initial * 2 ** Math.max(0, this.quickFailures - 1));
    this.restarts += 1;
    report(`${name} exited (code ${code}); restarting it in ${(delayMs / 1000).toFixed(1)} s (restart ${this.restarts})`);
    this.pendingRestart = setTimeout(() => void this.restart(), delayMs);
  }

  private async restart(): Promise<void> {
    if (this.stopped) return;
    const startedAt = Date.now();
    let handle: Handle;
    try {
      handle = await this.options.start();
    } catch (error) {
      this.options.report(`${this.options.name} did not come up: ${(error as Error).message.split('\n')[0]}`);
      this.exited(null, Date.now() - startedAt);
      return;
    }
    if (this.stopped) return;
    this.options.onStarted(handle);
    this.options.report(`${this.options.name} restarted (pid ${this.options.processOf(handle).pid})`);
    this.watch(handle, startedAt);
  }
}

// A peer that sends 10,000 bad frames must not write 10,000 log lines: log the first one per key and
// interval, and say how many were suppressed in between. Metrics still count every one.
export class LogThrottle {
  private readonly windows = new Map<string, { openedAt: number; suppressed: number }>();

  constructor(
    private readonly intervalMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Calls `log(suppressedSinceLast)` if this key has not logged within the interval. */
  run(key: string, log: (suppressed: number) => void): void {
    const now = this.now();
    const window = this.windows.get(key);
    if (window && now - window.openedAt < this.intervalMs) {
      window.suppressed += 1;
      return;
    }
    this.windows.set(key, { openedAt: now, suppressed: 0 });
    if (this.windows.size > 10_000) this.windows.clear(); // keys are per peer; never grow without bound
    log(window?.suppressed ?? 0);
  }
}

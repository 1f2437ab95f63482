// usageNanoCores from two cumulative samples, as the kubelet's CRI stats provider computes it when the
// runtime leaves it out (containerd 1.6 does): (Δ core-ns) / (Δ wall-ns) × 1e9. The first sample of a
// key has no rate; a counter that went down (a restarted container) starts over.
export interface CpuSample {
  /** cumulative core-ns */
  usageCoreNanoSeconds: number;
  /** when it was measured, ns since the epoch */
  timestampNanos: bigint;
}

export class CpuRateTracker {
  private previous = new Map<string, CpuSample>();
  private seen = new Map<string, CpuSample>();

  /** The rate since this key's previous sample, in nanocores, or undefined for a first or reset sample. */
  rate(key: string, sample: CpuSample): number | undefined {
    this.seen.set(key, sample);
    const before = this.previous.get(key);
    if (before === undefined) return undefined;
    const elapsed = Number(sample.timestampNanos - before.timestampNanos);
    const used = sample.usageCoreNanoSeconds - before.usageCoreNanoSeconds;
    if (elapsed <= 0) return undefined;
    if (used < 0) return undefined;
    return Math.round((used / elapsed) * 1e9);
  }

  /** Ends a collection: only keys sampled in it are remembered, so gone containers are forgotten. */
  endRound(): void {
    // a key not sampled again keeps its older sample out of the next round's rates
    for (const [key, sample] of this.seen) {
      const before = this.previous.get(key);
      // keep the older point when the runtime answered with the same measurement again (cached stats)
      if (before === undefined || sample.timestampNanos > before.timestampNanos) this.previous.set(key, sample);
    }
    for (const key of [...this.previous.keys()]) if (!this.seen.has(key)) this.previous.delete(key);
    this.seen = new Map();
  }
}

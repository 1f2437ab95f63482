// Restart back-off like the kubelet's: base (10 s) doubling per restart up to a cap (5 min). It is derived
// from the restart count kept in the runtime, so it stays right across edgecore restarts.
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 10_000, maxMs: 5 * 60_000 };

/** How long after the container's exit the restart number `restartCount + 1` may start. */
export function restartDelayMs(restartCount: number, options: BackoffOptions): number {
  const exponent = Math.min(restartCount, 30);
  return Math.min(options.baseMs * 2 ** exponent, options.maxMs);
}

/** The earliest start time (ms since epoch) of the next attempt, given the exit time in CRI nanoseconds. */
export function nextStartAtMs(finishedAtNs: bigint, restartCount: number, options: BackoffOptions): number {
  return Number(finishedAtNs / 1_000_000n) + restartDelayMs(restartCount, options);
}

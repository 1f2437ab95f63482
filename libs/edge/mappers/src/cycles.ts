// Collect and report cycles. KubeEdge's CRD fields are Go time.Duration values, i.e. nanoseconds (its
// sample Device says `collectCycle: 10000000000` for 10 s); kedge's own YAMLs so far used milliseconds.
// Both keep working: a value of at least 1 000 000 is read as nanoseconds (1 ms and up), a smaller one
// as milliseconds (a nanosecond cycle below 1 ms would be meaningless for a device).

/** At or above this a cycle is nanoseconds; below, milliseconds. */
export const NANOSECOND_CYCLE_THRESHOLD = 1_000_000;
export const DEFAULT_CYCLE_MS = 1000;

/** A cycle field in milliseconds; absent, zero, negative or not finite gives `fallbackMs`. */
export function cycleMs(value: unknown, fallbackMs = DEFAULT_CYCLE_MS): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return fallbackMs;
  return value >= NANOSECOND_CYCLE_THRESHOLD ? Math.max(1, Math.round(value / 1_000_000)) : value;
}

// Reads samples out of Prometheus text exposition (what /metrics serves), for tests and benchmarks
// that look at a process from outside.
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/;

function* samples(text: string, name: string, labels: Record<string, string>): Generator<number> {
  for (const line of text.split('\n')) {
    const match = SAMPLE.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[3] ?? '').matchAll(/([a-zA-Z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) yield Number(match[4]);
  }
}

/** The first sample of `name` carrying every given label; undefined when there is none. */
export function prometheusSample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const value of samples(text, name, labels)) return value;
  return undefined;
}

/** The sum of every sample of `name` carrying the given labels (0 when there is none). */
export function prometheusSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const value of samples(text, name, labels)) sum += value;
  return sum;
}

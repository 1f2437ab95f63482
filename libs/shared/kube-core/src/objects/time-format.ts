// Timestamps as Kubernetes writes them (RFC 3339, second precision, UTC) and ages as kubectl prints them.

/** `2024-05-01T12:00:00Z`: metav1.Time drops sub-second precision on the wire. */
export function formatTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `2024-05-01T12:00:00.123456Z`: metav1.MicroTime, used by leases and events.k8s.io. */
export function formatMicroTimestamp(date: Date): string {
  return date.toISOString().replace(/Z$/, '000Z');
}

/**
 * The age of a timestamp the way apimachinery's `duration.HumanDuration` renders it ("45s", "5m",
 * "3h12m", "4d"), so tables read exactly like those of a real cluster. `<unknown>` for a missing time.
 */
export function humanAge(timestamp: string | undefined, now: Date): string {
  if (timestamp === undefined) return '<unknown>';
  const then = Date.parse(timestamp);
  if (Number.isNaN(then)) return '<unknown>';
  return humanDuration(now.getTime() - then);
}

export function humanDuration(milliseconds: number): string {
  const seconds = Math.trunc(milliseconds / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const rest = seconds % 60;
    return rest === 0 ? `${minutes}m` : `${minutes}m${rest}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const rest = minutes % 60;
    return rest === 0 ? `${hours}h` : `${hours}h${rest}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const rest = hours % 24;
    return rest === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${rest}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24);
    const restDays = days % 365;
    return restDays === 0 ? `${Math.floor(days / 365)}y` : `${Math.floor(days / 365)}y${restDays}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

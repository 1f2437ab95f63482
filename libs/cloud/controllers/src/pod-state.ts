// What the controllers read from a pod's last reported status. A pod on an edge node whose link is
// down keeps the status it last reported (kedge never marks those pods NotReady, see
// docs/architecture.md "Workload controllers"), so it keeps counting as ready and available.
import { isDeleting, type Pod } from './objects';

export function isPodTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** Counts toward a controller's replicas: not finished and not being deleted (upstream's FilterActivePods). */
export function isPodActive(pod: Pod): boolean {
  return !isPodTerminal(pod) && !isDeleting(pod);
}

export function readySince(pod: Pod): number | undefined {
  const ready = pod.status?.conditions?.find((condition) => condition.type === 'Ready');
  if (ready?.status !== 'True') return undefined;
  const at = ready.lastTransitionTime === undefined ? NaN : Date.parse(ready.lastTransitionTime);
  return Number.isNaN(at) ? 0 : at;
}

export function isPodReady(pod: Pod): boolean {
  return readySince(pod) !== undefined;
}

/** Ready for at least minReadySeconds (upstream's IsPodAvailable). */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  const since = readySince(pod);
  if (since === undefined) return false;
  return minReadySeconds <= 0 || since + minReadySeconds * 1000 <= now;
}

/** When a ready pod becomes available, for a requeue; undefined when it already is or never will be. */
export function becomesAvailableAt(pod: Pod, minReadySeconds: number, now: number): number | undefined {
  const since = readySince(pod);
  if (since === undefined || minReadySeconds <= 0) return undefined;
  const at = since + minReadySeconds * 1000;
  return at > now ? at : undefined;
}

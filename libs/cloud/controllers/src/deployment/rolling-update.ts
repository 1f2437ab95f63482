// The arithmetic of a rolling update, as upstream's deployment util: maxSurge rounds up,
// maxUnavailable rounds down, and both zero would deadlock so maxUnavailable becomes 1.
import { InvalidSpecError } from '../spec-error';

/** An int-or-string like 2 or "25%" against a total; undefined gives `fallback` (upstream's 25%). */
export function resolveIntOrPercent(value: number | string | undefined, total: number, roundUp: boolean, field: string, fallback = '25%'): number {
  const raw = value ?? fallback;
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw) || raw < 0) throw new InvalidSpecError(field, `${raw} must be a non-negative integer or a percentage like "25%"`);
    return raw;
  }
  const match = /^(\d+)%$/.exec(raw);
  if (match === null) {
    if (/^\d+$/.test(raw)) return Number(raw);
    throw new InvalidSpecError(field, `"${raw}" must be a non-negative integer or a percentage like "25%"`);
  }
  const scaled = (Number(match[1]) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

export interface SurgeAndUnavailable {
  maxSurge: number;
  maxUnavailable: number;
}

export function surgeAndUnavailable(replicas: number, rollingUpdate: { maxSurge?: number | string; maxUnavailable?: number | string } | undefined): SurgeAndUnavailable {
  const field = 'spec.strategy.rollingUpdate';
  const maxSurge = resolveIntOrPercent(rollingUpdate?.maxSurge, replicas, true, `${field}.maxSurge`);
  let maxUnavailable = resolveIntOrPercent(rollingUpdate?.maxUnavailable, replicas, false, `${field}.maxUnavailable`);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable: Math.min(maxUnavailable, replicas) };
}

/**
 * How many replicas the new ReplicaSet should have now: grow by what the surge allows over the
 * total of all ReplicaSets, never past the wanted count (upstream's NewRSNewReplicas).
 */
export function newReplicaSetReplicas(wanted: number, newReplicas: number, totalReplicas: number, limits: SurgeAndUnavailable): number {
  if (newReplicas >= wanted) return wanted;
  const room = wanted + limits.maxSurge - totalReplicas;
  if (room <= 0) return newReplicas;
  return newReplicas + Math.min(room, wanted - newReplicas);
}

export interface OldReplicaSetState {
  name: string;
  replicas: number;
  available: number;
}

/**
 * How far each old ReplicaSet may shrink now (upstream's reconcileOldReplicaSets): first the
 * unavailable pods of old sets go, then available ones while the total stays at or above
 * wanted - maxUnavailable. Old sets come oldest first. Returns the new replica count per name.
 */
export function scaleDownOldReplicaSets(
  wanted: number,
  limits: SurgeAndUnavailable,
  newState: { replicas: number; available: number },
  oldSets: OldReplicaSetState[],
): Map<string, number> {
  const result = new Map<string, number>();
  const oldTotal = oldSets.reduce((sum, set) => sum + set.replicas, 0);
  if (oldTotal === 0) return result;
  const allTotal = oldTotal + newState.replicas;
  const minAvailable = wanted - limits.maxUnavailable;
  const newUnavailable = Math.max(0, newState.replicas - newState.available);
  let budget = allTotal - minAvailable - newUnavailable;
  if (budget <= 0) return result;
  const current = new Map(oldSets.map((set) => [set.name, set.replicas]));
  // unhealthy old pods first: removing them costs no availability
  for (const set of oldSets) {
    if (budget <= 0) break;
    const unhealthy = Math.max(0, set.replicas - set.available);
    const cut = Math.min(unhealthy, budget);
    if (cut > 0) {
      current.set(set.name, set.replicas - cut);
      budget -= cut;
    }
  }
  const available = newState.available + oldSets.reduce((sum, set) => sum + Math.min(set.available, current.get(set.name) ?? 0), 0);
  let room = available - minAvailable;
  for (const set of oldSets) {
    if (room <= 0) break;
    const now = current.get(set.name) ?? 0;
    const cut = Math.min(now, room);
    if (cut > 0) {
      current.set(set.name, now - cut);
      room -= cut;
    }
  }
  for (const set of oldSets) if (current.get(set.name) !== set.replicas) result.set(set.name, current.get(set.name) ?? 0);
  return result;
}

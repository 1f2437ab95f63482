// The disruption controller's arithmetic, as upstream's: expected pods from the controllers' scale,
// desired healthy from minAvailable/maxUnavailable (percentages rounded up), healthy = Ready and not
// deleting and not just evicted, recorded evictions forgotten after two minutes.
import { describe, expect, it } from 'vitest';
import { computeBudgetStatus, disruptionAllowedCondition, DISRUPTED_POD_TIMEOUT_MS, type PodDisruptionBudget } from '../src/disruption/budget-status';
import type { Pod } from '../src/objects';

const NOW = Date.parse('2026-01-01T00:00:00Z');

function pod(name: string, options: { ready?: 'True' | 'False' | 'Unknown'; owner?: { kind: string; name: string; uid: string }; deleting?: boolean; labels?: Record<string, string> } = {}): Pod {
  return {
    metadata: {
      name,
      namespace: 'default',
      labels: options.labels ?? { app: 'web' },
      ...(options.owner === undefined ? {} : { ownerReferences: [{ apiVersion: 'apps/v1', ...options.owner, controller: true }] }),
      ...(options.deleting === true ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: options.ready ?? 'True' }] },
  };
}

function budget(spec: PodDisruptionBudget['spec'], status: PodDisruptionBudget['status'] = {}): PodDisruptionBudget {
  return { metadata: { name: 'web', namespace: 'default', generation: 2 }, spec: { selector: { matchLabels: { app: 'web' } }, ...spec }, status };
}

const RS = { kind: 'ReplicaSet', name: 'web-abc', uid: 'rs-1' };
const scaleOfFive = () => ({ uid: 'deploy-1', replicas: 5 });

describe('disruption budget status', () => {
  it('disruption - minAvailable as an integer counts the selected pods and needs no controller', () => {
    const pods = [pod('a'), pod('b'), pod('c', { ready: 'False' }), pod('other', { labels: { app: 'db' } })];
    const { status } = computeBudgetStatus(budget({ minAvailable: 1 }), pods, () => undefined, NOW);
    expect(status).toEqual({ observedGeneration: 2, disruptedPods: {}, disruptionsAllowed: 1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 3 });
  });

  it('disruption - percentages and maxUnavailable use the controllers scale, rounded up as upstream', () => {
    const pods = [pod('a', { owner: RS }), pod('b', { owner: RS }), pod('c', { owner: RS }), pod('d', { owner: RS })];
    const percent = computeBudgetStatus(budget({ minAvailable: '50%' }), pods, scaleOfFive, NOW).status;
    expect(percent).toMatchObject({ expectedPods: 5, desiredHealthy: 3, currentHealthy: 4, disruptionsAllowed: 1 });
    const unavailable = computeBudgetStatus(budget({ maxUnavailable: '30%' }), pods, scaleOfFive, NOW).status;
    expect(unavailable).toMatchObject({ expectedPods: 5, desiredHealthy: 3, disruptionsAllowed: 1 }); // ceil(1.5) = 2 may be down
    const zero = computeBudgetStatus(budget({ maxUnavailable: 0 }), pods, scaleOfFive, NOW).status;
    expect(zero).toMatchObject({ desiredHealthy: 5, disruptionsAllowed: 0 });
  });

  it('disruption - a pod whose controller cannot be found fails the sync; pods without a controller are reported', () => {
    expect(() => computeBudgetStatus(budget({ maxUnavailable: 1 }), [pod('a', { owner: RS })], () => undefined, NOW)).toThrow(/found no controllers for pod "a"/);
    const result = computeBudgetStatus(budget({ maxUnavailable: 1 }), [pod('bare'), pod('a', { owner: RS })], scaleOfFive, NOW);
    expect(result.unmanagedPods).toEqual(['bare']);
  });

  it('disruption - Ready Unknown (a node that stopped reporting) and deleting pods are not healthy', () => {
    const pods = [pod('a'), pod('b', { ready: 'Unknown' }), pod('c', { deleting: true })];
    expect(computeBudgetStatus(budget({ minAvailable: 1 }), pods, () => undefined, NOW).status).toMatchObject({ currentHealthy: 1, disruptionsAllowed: 0 });
  });

  it('disruption - recorded evictions keep a pod unhealthy for two minutes, then are forgotten; deleting pods leave the map', () => {
    const recent = new Date(NOW - 30_000).toISOString();
    const old = new Date(NOW - DISRUPTED_POD_TIMEOUT_MS - 1).toISOString();
    const pods = [pod('a'), pod('b'), pod('c'), pod('d', { deleting: true })];
    const result = computeBudgetStatus(budget({ minAvailable: 1 }, { disruptedPods: { a: recent, b: old, d: recent, gone: recent } }), pods, () => undefined, NOW);
    expect(result.status.disruptedPods).toEqual({ a: recent });
    expect(result.status.currentHealthy).toBe(2); // b (timed out) and c
    expect(result.recheckAt).toBe(Date.parse(recent) + DISRUPTED_POD_TIMEOUT_MS);
  });

  it('disruption - a missing selector selects nothing, an empty one every pod; no expected pods allows nothing', () => {
    const none = computeBudgetStatus({ metadata: { name: 'x', namespace: 'default' }, spec: { minAvailable: 0 } }, [pod('a')], () => undefined, NOW);
    expect(none.pods).toEqual([]);
    expect(none.status.disruptionsAllowed).toBe(0);
    const all = computeBudgetStatus({ metadata: { name: 'x', namespace: 'default' }, spec: { minAvailable: 0, selector: {} } }, [pod('a'), pod('b', { labels: {} })], () => undefined, NOW);
    expect(all.status).toMatchObject({ expectedPods: 2, disruptionsAllowed: 2 });
  });

  it('disruption - the DisruptionAllowed condition keeps its transition time while its status holds', () => {
    const first = disruptionAllowedCondition(undefined, 1, 1, NOW);
    expect(first).toEqual([expect.objectContaining({ type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods' })]);
    const again = disruptionAllowedCondition(first, 2, 1, NOW + 60_000);
    expect(again[0]?.lastTransitionTime).toBe(first[0]?.lastTransitionTime);
    expect(disruptionAllowedCondition(first, 0, 1, NOW)[0]).toMatchObject({ status: 'False', reason: 'InsufficientPods' });
    expect(disruptionAllowedCondition(first, 3, 1, NOW, 'boom')[0]).toMatchObject({ status: 'False', reason: 'SyncFailed', message: 'boom' });
  });
});

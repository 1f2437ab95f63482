// The pod-template-hash and the rolling-update arithmetic of Deployments and DaemonSets.
import { describe, expect, it } from 'vitest';
import { daemonPlacement, daemonTolerations, newReplicaSetReplicas, podTemplateHash, resolveIntOrPercent, scaleDownOldReplicaSets, surgeAndUnavailable } from '../src/index';

describe('pod-template-hash', () => {
  const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'busybox:1.36' }] } };

  it('hash - is stable, ignores key order, and changes with the template or the collision count', () => {
    const reordered = { spec: { containers: [{ image: 'busybox:1.36', name: 'app' }] }, metadata: { labels: { app: 'web' } } };
    expect(podTemplateHash(template)).toBe(podTemplateHash(reordered));
    expect(podTemplateHash(template)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    expect(podTemplateHash({ ...template, spec: { containers: [{ name: 'app', image: 'busybox:1.37' }] } })).not.toBe(podTemplateHash(template));
    expect(podTemplateHash(template, 1)).not.toBe(podTemplateHash(template));
  });
});

describe('rolling update arithmetic', () => {
  it('int-or-percent - surge rounds up, unavailable rounds down, garbage is an error naming the field', () => {
    expect(resolveIntOrPercent('25%', 3, true, 'f')).toBe(1);
    expect(resolveIntOrPercent('25%', 3, false, 'f')).toBe(0);
    expect(resolveIntOrPercent(2, 3, false, 'f')).toBe(2);
    expect(resolveIntOrPercent(undefined, 10, true, 'f')).toBe(3);
    expect(() => resolveIntOrPercent('lots', 3, true, 'spec.strategy.rollingUpdate.maxSurge')).toThrow('spec.strategy.rollingUpdate.maxSurge: "lots" must be');
    expect(() => resolveIntOrPercent(-1, 3, true, 'f')).toThrow(/non-negative/);
  });

  it('limits - both zero would deadlock, so maxUnavailable becomes 1', () => {
    expect(surgeAndUnavailable(3, { maxSurge: 0, maxUnavailable: 0 })).toEqual({ maxSurge: 0, maxUnavailable: 1 });
    expect(surgeAndUnavailable(3, undefined)).toEqual({ maxSurge: 1, maxUnavailable: 0 });
  });

  it('new replicaset - grows by the surge over the total, never past the wanted count', () => {
    const limits = { maxSurge: 1, maxUnavailable: 0 };
    expect(newReplicaSetReplicas(3, 0, 3, limits)).toBe(1);
    expect(newReplicaSetReplicas(3, 1, 4, limits)).toBe(1);
    expect(newReplicaSetReplicas(3, 1, 3, limits)).toBe(2);
    expect(newReplicaSetReplicas(3, 0, 0, limits)).toBe(3);
    expect(newReplicaSetReplicas(3, 5, 5, limits)).toBe(3);
  });

  it('old replicasets - unhealthy pods go first, available ones only down to wanted - maxUnavailable', () => {
    const limits = { maxSurge: 1, maxUnavailable: 0 };
    // 3 old available + 1 new not yet available: nothing may go
    expect(scaleDownOldReplicaSets(3, limits, { replicas: 1, available: 0 }, [{ name: 'old', replicas: 3, available: 3 }])).toEqual(new Map());
    // the new pod became available: one old may go
    expect(scaleDownOldReplicaSets(3, limits, { replicas: 1, available: 1 }, [{ name: 'old', replicas: 3, available: 3 }])).toEqual(new Map([['old', 2]]));
    // unavailable old pods go first, but only within the budget: 4 pods - 2 that must stay available - 1 new one not ready = 1
    expect(scaleDownOldReplicaSets(3, { maxSurge: 1, maxUnavailable: 1 }, { replicas: 1, available: 0 }, [{ name: 'old', replicas: 3, available: 1 }])).toEqual(new Map([['old', 2]]));
    // with the new pod ready the budget is 2, all of it spent on the unavailable old pods
    expect(scaleDownOldReplicaSets(3, { maxSurge: 1, maxUnavailable: 1 }, { replicas: 1, available: 1 }, [{ name: 'old', replicas: 3, available: 1 }])).toEqual(new Map([['old', 1]]));
    // oldest first
    expect(scaleDownOldReplicaSets(2, { maxSurge: 0, maxUnavailable: 1 }, { replicas: 0, available: 0 }, [{ name: 'v1', replicas: 1, available: 1 }, { name: 'v2', replicas: 1, available: 1 }])).toEqual(
      new Map([['v1', 0]]),
    );
  });
});

describe('daemon placement', () => {
  const daemonSet = { metadata: { name: 'ds' }, spec: { template: { spec: { nodeSelector: { gateway: 'yes' } } } } };
  const node = (taints: Array<{ key: string; effect: string }>, ready = 'True') => ({
    metadata: { name: 'n', labels: { gateway: 'yes' } },
    spec: { taints },
    status: { conditions: [{ type: 'Ready', status: ready }] },
  });

  it('placement - daemon pods tolerate unreachable/not-ready NoExecute and unschedulable, so an unreachable node keeps its pod but gets no new one', () => {
    expect(daemonTolerations(undefined).map((t) => `${t.key}:${t.effect}`)).toEqual(expect.arrayContaining(['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unschedulable:NoSchedule']));
    expect(daemonPlacement(daemonSet, node([]))).toEqual({ shouldRun: true, shouldContinueRunning: true });
    expect(daemonPlacement(daemonSet, node([{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }], 'Unknown'))).toEqual({ shouldRun: false, shouldContinueRunning: true });
    expect(daemonPlacement(daemonSet, node([{ key: 'evict', effect: 'NoExecute' }]))).toEqual({ shouldRun: false, shouldContinueRunning: false });
    expect(daemonPlacement({ metadata: { name: 'ds' }, spec: { template: { spec: { nodeSelector: { gateway: 'no' } } } } }, node([]))).toEqual({ shouldRun: false, shouldContinueRunning: false });
  });
});

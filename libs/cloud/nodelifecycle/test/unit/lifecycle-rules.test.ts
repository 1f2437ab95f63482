import { describe, expect, it } from 'vitest';
import { evictionTime, unknownConditions, withUnreachableTaint, withoutUnreachableTaints } from '../../src/lifecycle-rules';

describe('lifecycle rules - conditions, taints and eviction', () => {
  it('turns kubelet conditions Unknown and adds Ready when missing', () => {
    const conditions = unknownConditions({ metadata: {}, status: { conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'NetworkUnavailable', status: 'False' }] } }, 0);
    expect(conditions.map((c) => `${c.type}=${c.status}`)).toEqual(['MemoryPressure=Unknown', 'NetworkUnavailable=False', 'Ready=Unknown']);
    expect(conditions[2]?.reason).toBe('NodeStatusUnknown');
  });

  it('adds each unreachable taint once and removes them all', () => {
    const once = withUnreachableTaint([{ key: 'other', effect: 'NoSchedule' }], 'NoSchedule', 0);
    expect(withUnreachableTaint(once, 'NoSchedule', 1)).toBe(once);
    expect(withoutUnreachableTaints(withUnreachableTaint(once, 'NoExecute', 0))).toEqual([{ key: 'other', effect: 'NoSchedule' }]);
  });

  it('evicts by toleration like the taint manager', () => {
    const pod = (tolerations: unknown[]) => ({ metadata: {}, spec: { tolerations } });
    expect(evictionTime(pod([]), 1_000, 30_000)).toBe(31_000);
    expect(evictionTime(pod([{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }]), 1_000, 30_000)).toBeUndefined();
    expect(evictionTime(pod([{ operator: 'Exists' }]), 1_000, 30_000)).toBeUndefined();
    expect(evictionTime(pod([{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: 60 }]), 1_000, 30_000)).toBe(61_000);
    expect(evictionTime(pod([{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }]), 1_000, 30_000)).toBe(31_000);
  });
});
